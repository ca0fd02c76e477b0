"""The simulated GPU cluster: the embedded default source (DESIGN.md, "The simulated cluster").

`scenario` reads the YAML description, `scheduler` places and runs jobs minute by minute under each
stage's policy, `serving` routes and serves inference requests on the replicas the scheduler placed,
`telemetry` derives DCGM readings from what ran, and `run` ties them together and lands each day.
"""
