"""Small helpers: the sklearn private-API import site, devices, free cores, logging."""
