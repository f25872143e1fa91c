"""Remote charging sessions: started on request, followed to completion by a Step Functions
poller (`statemachine/session_poller.asl.json`), stopped on request; docs/session-poller.md."""
