"""Federation: identity, signed server-to-server requests, the guarded client, peers, feed,
sync and the image proxy."""
