"""Offline tools: simulator, backtest, the local stack driver, event files and date options."""
