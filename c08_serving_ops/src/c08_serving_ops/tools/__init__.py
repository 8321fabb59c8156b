"""Tools around the server: the client, the load generator, the fuzzer, soak and slow-client
checks, the generation benchmark and the deployment check. They drive a server from outside
(or import it); nothing in the service imports them.
"""
