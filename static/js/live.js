// Live updates: one Socket.IO connection per page, shared by the page's scripts.
// The server puts the socket in its user's room (and admins' room), so onJob only
// ever sees jobs this user may see; watchImage asks to join one picture's room.
// Rooms belong to one connection: after a reconnect the watched pictures are
// joined again and onConnect handlers run, so pages can re-read what they missed.
// The vendored client (static/vendor/socket.io.min.js) is loaded on first use,
// so a page only needs to import this module.

const CLIENT = new URL("../vendor/socket.io.min.js", import.meta.url);
const handlers = { job: new Set(), image: new Set(), connect: new Set() };
const watched = new Set();
let socket = null;
let starting = null;

function emitTo(set, ...args) {
  for (const handler of set) {
    try { handler(...args); } catch (error) { console.error(error); }
  }
}

function join(imageId) {
  socket.emit("watch_image", { image_id: imageId }, (reply) => {
    if (!reply?.ok) console.warn(`not allowed to watch picture ${imageId}`);
  });
}

function loadClient() {
  if (window.io) return Promise.resolve(window.io);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = CLIENT.href;
    script.onload = () => resolve(window.io);
    script.onerror = () => reject(new Error(`could not load ${CLIENT.href}`));
    document.head.append(script);
  });
}

function open(io) {
  socket = io({ transports: ["websocket", "polling"], tryAllTransports: true });
  socket.on("job.progress", (job) => emitTo(handlers.job, job, "job.progress"));
  socket.on("job.state", (job) => emitTo(handlers.job, job, "job.state"));
  socket.on("image.updated", (data) => emitTo(handlers.image, data));
  socket.on("connect", () => {
    watched.forEach(join);
    emitTo(handlers.connect);
  });
  return socket;
}

// Connects once per page; later calls get the same promise of the socket.
export function connect() {
  starting ??= loadClient().then(open).catch((error) => {
    console.warn("live updates are off:", error.message);
    return null;
  });
  return starting;
}

// handler(job, eventName) for every job.progress and job.state this user may see.
export function onJob(handler) {
  connect();
  handlers.job.add(handler);
  return () => handlers.job.delete(handler);
}

// handler({image_id, analysis}) when a watched (or own) picture's analysis changes.
export function onImage(handler) {
  connect();
  handlers.image.add(handler);
  return () => handlers.image.delete(handler);
}

// handler() after every (re)connection: the moment to re-read state missed meanwhile.
export function onConnect(handler) {
  connect();
  handlers.connect.add(handler);
  if (socket?.connected) handler();
  return () => handlers.connect.delete(handler);
}

// Join image:<id>; the server checks that this user may see the picture.
export function watchImage(imageId) {
  connect();
  const id = Number(imageId);
  if (watched.has(id)) return;
  watched.add(id);
  if (socket?.connected) join(id);
}

export function connected() {
  return Boolean(socket?.connected);
}
