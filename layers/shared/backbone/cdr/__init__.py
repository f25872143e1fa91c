"""CDRs: from the OIOI receiver and the session poller, through the CDR queue, into DynamoDB."""
