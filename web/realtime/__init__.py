"""Phoenix Channels: sockets (WebSocket and LongPoll), channels and their topics.

Each socket and each joined channel is an actor under a dynamic supervisor of the tree;
the WebSocket connections themselves live on one event loop per process (`hub`), never on
a request thread.
"""
