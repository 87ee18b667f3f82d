// Runs an Argo CD health check written in Lua (the one in docs/gitops.md) on a resource, with fengari,
// as Argo CD does: the resource is the global `obj`, the script returns a table with status and message.
// Usage: node hack/argocd-health.js SCRIPT.lua RESOURCE.json   (prints {"status": ..., "message": ...})
'use strict';
const fs = require('fs');
const path = require('path');
const { lua, lauxlib, lualib, to_luastring, to_jsstring } = require(path.join(__dirname, 'tools', 'node_modules', 'fengari'));

// A JSON value as a Lua expression; JSON null becomes nil, as in Argo CD.
function literal(value) {
  if (value === null || value === undefined) return 'nil';
  if (Array.isArray(value)) return '{' + value.map(literal).join(', ') + '}';
  if (typeof value === 'object') {
    return '{' + Object.entries(value).map(([k, v]) => `[${JSON.stringify(k)}] = ${literal(v)}`).join(', ') + '}';
  }
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

const [script, resource] = process.argv.slice(2);
const source = `obj = ${literal(JSON.parse(fs.readFileSync(resource, 'utf8')))}\nreturn (function()\n${fs.readFileSync(script, 'utf8')}\nend)()`;
const L = lauxlib.luaL_newstate();
lualib.luaL_openlibs(L);
if (lauxlib.luaL_loadstring(L, to_luastring(source)) !== lua.LUA_OK || lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) {
  console.error(to_jsstring(lua.lua_tostring(L, -1)));
  process.exit(1);
}
const result = {};
for (const key of ['status', 'message']) {
  lua.lua_getfield(L, -1, to_luastring(key));
  result[key] = lua.lua_isnil(L, -1) ? null : to_jsstring(lua.lua_tostring(L, -1));
  lua.lua_pop(L, 1);
}
console.log(JSON.stringify(result));
