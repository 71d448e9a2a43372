// Drives the official `phoenix` client for the Python tests: reads one JSON command per
// line on stdin and writes one JSON event per line on stdout.
//
//   {"op": "connect", "id": "a", "url": "ws://…/socket", "token": "…", "transport": "websocket"|"longpoll",
//    "params": {…}, "heartbeat_ms": 30000}
//   {"op": "join", "id": "a", "topic": "transaction:1", "params": {…}, "events": ["new_transaction"]}
//   {"op": "leave", "id": "a", "topic": "…"}      {"op": "push", "id": "a", "topic": "…", "event": "…", "payload": {…}}
//   {"op": "disconnect", "id": "a"}                {"op": "exit"}
//
// Events: {"type": "open", "id", "port"}, {"type": "close"|"error", "id"}, {"type": "join", "id", "topic", "status",
// "response"}, {"type": "message", "id", "topic", "event", "payload"}, {"type": "left", …},
// {"type": "reply", "id", "topic", "event", "status", "response"}, {"type": "channel_error", …}.
const readline = require("readline")
const {Socket, LongPoll} = require("phoenix")
const WebSocket = require("ws")

const sockets = new Map()
const channels = new Map()
// "at": the system clock's ms; "mono": ms on the monotonic clock (process.hrtime reads
// CLOCK_MONOTONIC, as Python's time.monotonic does), for intervals with the benchmark's times.
const emit = (event) => process.stdout.write(
  JSON.stringify(Object.assign({at: Date.now(), mono: Number(process.hrtime.bigint()) / 1e6}, event)) + "\n")
// The local port of a WebSocket's connection, which names it on the server's side too.
const localPort = (socket) => (socket.conn && socket.conn._socket ? socket.conn._socket.localPort : null)

function connect(cmd) {
  const options = {
    transport: cmd.transport === "longpoll" ? LongPoll : WebSocket,
    params: Object.assign({token: cmd.token}, cmd.params || {}),
    heartbeatIntervalMs: cmd.heartbeat_ms || 30000,
    reconnectAfterMs: () => cmd.reconnect_ms || 200,
    rejoinAfterMs: () => cmd.rejoin_ms || 200,
    longPollFallbackMs: null,
  }
  if (cmd.vsn === "1.0.0") {
    options.vsn = "1.0.0"
    options.encode = (msg, callback) => callback(JSON.stringify(msg))
    options.decode = (raw, callback) => callback(JSON.parse(raw))
  }
  const socket = new Socket(cmd.url, options)
  socket.onOpen(() => emit({type: "open", id: cmd.id, port: localPort(socket)}))
  socket.onClose((e) => emit({type: "close", id: cmd.id, code: e && e.code}))
  socket.onError((e) => emit({type: "error", id: cmd.id}))
  socket.connect()
  sockets.set(cmd.id, socket)
}

function join(cmd) {
  const socket = sockets.get(cmd.id)
  let params = cmd.params || {}
  const channel = socket.channel(cmd.topic, () => params)
  channels.set(cmd.id + " " + cmd.topic, channel)
  for (const event of cmd.events || []) {
    channel.on(event, (payload) => {
      emit({type: "message", id: cmd.id, topic: cmd.topic, event, payload})
      // A rejoin resumes after the last transaction seen, as a client of ours does.
      if (cmd.resume && payload && typeof payload.id === "number") params = {after: payload.id}
    })
  }
  channel.onError(() => emit({type: "channel_error", id: cmd.id, topic: cmd.topic}))
  channel.onClose(() => emit({type: "channel_close", id: cmd.id, topic: cmd.topic}))
  channel.join()
    .receive("ok", (response) => {
      if (cmd.resume && params.after === undefined && response && "last_transaction_id" in response) {
        params = {after: response.last_transaction_id}
      }
      emit({type: "join", id: cmd.id, topic: cmd.topic, status: "ok", response})
    })
    .receive("error", (response) => emit({type: "join", id: cmd.id, topic: cmd.topic, status: "error", response}))
}

function run(cmd) {
  switch (cmd.op) {
    case "connect": return connect(cmd)
    case "join": return join(cmd)
    case "leave": {
      const channel = channels.get(cmd.id + " " + cmd.topic)
      return channel.leave().receive("ok", () => emit({type: "left", id: cmd.id, topic: cmd.topic}))
    }
    case "push": {
      const channel = channels.get(cmd.id + " " + cmd.topic)
      const reply = (status) => (response) =>
        emit({type: "reply", id: cmd.id, topic: cmd.topic, event: cmd.event, status, response})
      return channel.push(cmd.event, cmd.payload || {}).receive("ok", reply("ok")).receive("error", reply("error"))
    }
    case "disconnect": return sockets.get(cmd.id).disconnect(() => emit({type: "disconnected", id: cmd.id}))
    case "exit": process.exit(0)
  }
}

readline.createInterface({input: process.stdin}).on("line", (line) => {
  if (line.trim()) run(JSON.parse(line))
})
emit({type: "ready"})
