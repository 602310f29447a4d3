-- A Lua workload for tools/realworld/run.py: recursion, closures, tables, strings, floats.
-- It raises no Lua error and uses no coroutines: both unwind with longjmp, which the wasm
-- build lacks (no setjmp in wasi-libc with clang 14), so there they abort.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print("fib(24) =", fib(24))

local t = {}
local seed = 42
local function rand() seed = (seed * 1103515245 + 12345) % 2147483648; return seed end
for i = 1, 5000 do t[i] = rand() % 100000 end
table.sort(t)
print("sorted:", t[1], t[2500], t[5000])

local parts = {}
for i = 1, 2000 do parts[#parts + 1] = string.format("%d:%x:%.3f", i, i * 7, i / 3) end
local s = table.concat(parts, ",")
print("string:", #s, s:sub(1, 40))
local count = 0
for a, b in s:gmatch("(%d+):(%x+)") do count = count + (tonumber(b, 16) - tonumber(a)) end
print("gmatch sum:", count)
print("gsub:", (s:sub(1, 60):gsub("%d", "#")))

local function counter()
  local n = 0
  return function() n = n + 1; return n end
end
local c = counter()
for _ = 1, 10000 do c() end
print("closure:", c())

local acc = 0.0
for i = 1, 20000 do acc = acc + math.sin(i) * math.sqrt(i) end
print(string.format("float: %.6f", acc))

local words = {}
for w in ("the quick brown fox jumps over the lazy dog the end"):gmatch("%a+") do
  words[w] = (words[w] or 0) + 1
end
local keys = {}
for k in pairs(words) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do io.write(k, "=", words[k], " ") end
print()
print("utf8:", utf8.len("héllo wörld"), utf8.char(72, 233, 108))
