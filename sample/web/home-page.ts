/**
 * The page at `/`: plain HTML and a little script that drives every route of the
 * sample with fetch(). Kept in a .ts file so the TypeScript build ships it.
 */
export const HOME_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nestjs-pg-session sample</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  section { border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; margin: .8rem 0; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.05rem; margin: .2rem 0 .5rem; }
  input { padding: .25rem; } button { margin: .15rem .25rem .15rem 0; }
  pre { background: #f6f6f6; padding: .6rem; overflow: auto; max-height: 16rem; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; } td, th { border-bottom: 1px solid #eee; padding: .2rem; text-align: left; }
  .muted { color: #777; font-size: 13px; }
</style>
</head>
<body>
<h1>nestjs-pg-session sample</h1>
<p class="muted">Served by <b id="node">?</b>. Demo users: <code>alice</code> and <code>bob</code>, password <code>secret</code>.</p>

<section>
  <h2>Login</h2>
  <input id="username" value="alice" size="10"> <input id="password" type="password" value="secret" size="10">
  <button id="login">Log in</button> <button id="logout">Log out</button> <button id="me">GET /me</button>
</section>

<section>
  <h2>Cart</h2>
  <input id="item" value="book" size="12"> <button id="add">Add</button> <button id="add20">Add 20 at once</button> <button id="cart">GET /cart</button>
</section>

<section>
  <h2>Step-up</h2>
  <input id="stepPassword" type="password" value="secret" size="10"> <button id="stepUp">Step up</button>
  <button id="secret">GET /admin/secret</button>
  <span class="muted">403 before the step-up, 200 for 15 minutes after it.</span>
</section>

<section>
  <h2>My sessions</h2>
  <button id="list">Refresh</button> <button id="others">Log out everywhere else</button>
  <table><thead><tr><th>id</th><th>last used</th><th>expires</th><th></th></tr></thead><tbody id="sessions"></tbody></table>
</section>

<pre id="log"></pre>

<script>
const $ = (id) => document.getElementById(id);
function log(line) { $('log').textContent = line + '\\n' + $('log').textContent; }
async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
  const response = await fetch(path, init);
  const text = await response.text();
  let data; try { data = JSON.parse(text); } catch { data = text; }
  log(method + ' ' + path + ' -> ' + response.status + ' ' + JSON.stringify(data));
  return { status: response.status, data };
}
async function node() { const { data } = await fetch('/node').then(async (r) => ({ data: await r.json() })); $('node').textContent = data.node + ' (pid ' + data.pid + ')'; }
async function listSessions() {
  const { status, data } = await call('GET', '/sessions');
  const body = $('sessions'); body.textContent = '';
  if (status !== 200) return;
  for (const s of data.sessions) {
    const row = document.createElement('tr');
    for (const text of [s.id.slice(0, 8) + (s.current ? ' (this one)' : ''), new Date(s.lastAccessed).toLocaleString(), new Date(s.expiresAt).toLocaleString()]) {
      const cell = document.createElement('td'); cell.textContent = text; row.append(cell);
    }
    const cell = document.createElement('td'); const button = document.createElement('button');
    button.textContent = 'Revoke'; button.onclick = async () => { await call('DELETE', '/sessions/' + s.id); await listSessions(); };
    cell.append(button); row.append(cell); body.append(row);
  }
}
$('login').onclick = () => call('POST', '/login', { username: $('username').value, password: $('password').value });
$('logout').onclick = () => call('POST', '/logout');
$('me').onclick = () => call('GET', '/me');
$('add').onclick = () => call('POST', '/cart/items', { itemId: $('item').value });
$('add20').onclick = async () => {
  await Promise.all(Array.from({ length: 20 }, (_, i) => call('POST', '/cart/items', { itemId: $('item').value + '-' + i })));
  const { data } = await call('GET', '/cart'); log('cart holds ' + (data.items ? data.items.length : '?') + ' items');
};
$('cart').onclick = () => call('GET', '/cart');
$('stepUp').onclick = () => call('POST', '/step-up', { password: $('stepPassword').value });
$('secret').onclick = () => call('GET', '/admin/secret');
$('list').onclick = listSessions;
$('others').onclick = async () => { await call('POST', '/sessions/revoke-others'); await listSessions(); };
node();
</script>
</body>
</html>
`;
