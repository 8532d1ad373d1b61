"""What several test folders share, imported as `tests.helpers.X` (never from another test module):

- `machine`: the checkout, the example stack, "fail under CI, skip elsewhere", project clean-up;
- `waiting`: the one way to wait for a condition (`wait_until`, and `pilot_until` in a Pilot);
- `dockerd`: stopping and starting the local engine for the daemon-restart tests;
- `secrets`, `fixes`, `live`, `web`, `dashboard`, `wizard`: the small projects, recorders and
  screen readers of those folders' tests.
"""
