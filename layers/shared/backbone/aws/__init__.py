"""AWS plumbing in one place: clients per latency class, error codes, item attributes, paging,
secrets and the CDR queue. Capabilities implement their ports (`<capability>/aws.py`) with these;
logic never imports this package."""
