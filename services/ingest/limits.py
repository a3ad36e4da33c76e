"""Every limit and timeout of the ingest service, with the reason for its value."""

from __future__ import annotations

# --- request limits (413 above them) --------------------------------------------------------
# Events per POST /v1/batch. A batch is validated and acknowledged as one unit, so its size bounds
# the request's latency and the work lost to one failed write; 1,000 is what common analytics
# batch APIs take, and a client sending more just splits its batches.
MAX_BATCH_EVENTS = 1_000
# Bytes per request body. Typical events are ~200-500 B, so 1,000 of them fit with room for
# properties; the cap keeps one request's memory bounded (the body is read in full before JSON
# parsing), and so no single event can exceed Kafka's default 1 MB record limit.
MAX_BODY_BYTES = 1024 * 1024
# Bytes per request body after gzip/deflate decoding: the same cap, for the same reasons (memory,
# Kafka's record limit); the wire cap alone would let a 1 MiB gzip body inflate to ~1 GiB.
MAX_DECODED_BYTES = MAX_BODY_BYTES

# --- Kafka producer ------------------------------------------------------------------------
# aiokafka's per-request timeout (produce and metadata). aiokafka may wait up to twice this for a
# produce request, so DELIVERY_TIMEOUT_S below is what bounds the client's wait.
PRODUCER_REQUEST_TIMEOUT_MS = 5_000
# Longest a request waits for Kafka to acknowledge its batch before answering 503. Clients (and
# load balancers, often at 30-60 s) must not hang; 10 s rides out a leader election.
DELIVERY_TIMEOUT_S = 10.0
# Small linger: batches of one request go out together; a few ms of latency, fewer requests.
PRODUCER_LINGER_MS = 5
# Bytes per Kafka record batch (aiokafka's default is 16 KiB). A 500-event request spreads ~150 KB
# over the partitions; 256 KiB lets each partition's share go out as one batch. Below the broker's
# 1 MiB message.max.bytes.
PRODUCER_MAX_BATCH_BYTES = 256 * 1024
# Retry-After (seconds) sent with 503: long enough for a broker restart (~2-3 s measured) or a
# leader move, short enough that clients' buffers do not pile up.
RETRY_AFTER_S = 5
# Reconnect backoff while Kafka is unreachable at start-up: first wait, then doubling to the cap.
CONNECT_RETRY_FIRST_S = 0.5
CONNECT_RETRY_MAX_S = 10.0
# Readiness probe: one metadata round trip, bounded, and its answer reused briefly so a probe
# storm does not become a metadata-request storm on the broker.
READY_CHECK_TIMEOUT_S = 2.0
READY_CACHE_S = 1.0
# On shutdown, time given to flush what is in flight before the producer is closed anyway.
STOP_TIMEOUT_S = 10.0
