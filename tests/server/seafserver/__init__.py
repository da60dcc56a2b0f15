"""Reference Seafile server for tests and the demo (Seahub /api2 subset + the /seafhttp file server).

Run it with `python3 -m seafserver --data DIR --port P --control-port C`; see tests/server/README.md.
"""
