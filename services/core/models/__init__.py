"""The customer-base models (BG/NBD, MBG/NBD, sBG, Gamma-Gamma) and their ML fits."""
