local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print("fib(30) =", fib(30))
local t = {}
local seed = 42
local function rand() seed = (seed * 1103515245 + 12345) % 2147483648; return seed end
for i = 1, 200000 do t[i] = rand() % 100000 end
table.sort(t)
print("sorted:", t[1], t[100000], t[200000])
local acc = 0.0
for i = 1, 2000000 do acc = acc + math.sin(i) * math.sqrt(i) end
print(string.format("float: %.6f", acc))
local parts = {}
for i = 1, 100000 do parts[#parts + 1] = string.format("%d:%x:%.3f", i, i * 7, i / 3) end
local s = table.concat(parts, ",")
local count = 0
for a, b in s:gmatch("(%d+):(%x+)") do count = count + (tonumber(b, 16) - tonumber(a)) end
print("gmatch sum:", count)
