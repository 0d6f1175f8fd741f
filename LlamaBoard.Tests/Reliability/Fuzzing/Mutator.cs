using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Tests.Reliability.Fuzzing;

/// <summary>How a seed file is structured, which decides the structure-aware mutations that apply to it.</summary>
internal enum SeedKind
{
    /// <summary>One JSON document.</summary>
    Json,
    /// <summary>One JSON object per line.</summary>
    JsonLines,
    /// <summary>YAML text.</summary>
    Yaml,
    /// <summary>Line-oriented text (CSV, plain text).</summary>
    Text,
    /// <summary>A safetensors file: 8-byte length, JSON header, data.</summary>
    Safetensors,
    /// <summary>Any other binary format (GGUF, Parquet).</summary>
    Binary,
}

/// <summary>A mutated input and the mutations that made it (for the failure report).</summary>
internal sealed record FuzzInput(byte[] Data, string Description);

/// <summary>
/// Mutations of valid seed files with a seeded <see cref="Random"/>: byte-level damage that every format gets
/// (truncation, bit flips, insertions, deletions, duplicated segments, NUL bytes, invalid UTF-8, huge integers in
/// binary fields) and structure-aware damage for text formats (wrong JSON types, huge or negative numbers, deep
/// nesting, very long strings, YAML aliases). The same seed and case index always give the same input.
/// </summary>
internal static class Mutator
{
    /// <summary>Nesting depths tried; 10,000 and 100,000 overflow recursive parsers on a 1 MB stack.</summary>
    static readonly int[] Depths = [65, 200, 10_000, 100_000];

    static readonly string[] HugeNumbers =
    [
        "-1", "0", "2147483647", "2147483648", "-2147483649", "4294967296", "9223372036854775807", "9223372036854775808",
        "18446744073709551616", "-9223372036854775809", "1e308", "1e309", "-0.0", "3.5", "1E+400", "99999999999999999999999999",
    ];

    static readonly byte[][] BadUtf8 =
    [
        [0xFF], [0xC0, 0x80], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
        [0xFE, 0xFF], [0xEF, 0xBB, 0xBF],
    ];

    static readonly ulong[] HugeFields =
    [
        ulong.MaxValue, long.MaxValue, (ulong)long.MaxValue + 1, uint.MaxValue, int.MaxValue, (ulong)int.MaxValue + 1, 1UL << 40, 0,
    ];

    /// <summary>Applies one to three mutations to <paramref name="seed"/>.</summary>
    public static FuzzInput Mutate(byte[] seed, SeedKind kind, Random rng)
    {
        var data = seed;
        var steps = new List<string>();
        int count = rng.Next(4) == 0 ? rng.Next(2, 4) : 1;
        for (int i = 0; i < count; i++)
        {
            var (next, what) = MutateOnce(data, kind, rng);
            data = next;
            steps.Add(what);
        }
        return new FuzzInput(data, string.Join(" + ", steps));
    }

    static (byte[] Data, string What) MutateOnce(byte[] data, SeedKind kind, Random rng)
    {
        // Half of the cases use the format's structure (when it has one that still parses), half damage bytes.
        if (rng.Next(2) == 0)
        {
            var structured = kind switch
            {
                SeedKind.Json => JsonMutation(data, rng),
                SeedKind.JsonLines => JsonLinesMutation(data, rng),
                SeedKind.Yaml => YamlMutation(data, rng),
                SeedKind.Safetensors => SafetensorsMutation(data, rng),
                SeedKind.Text => TextMutation(data, rng),
                _ => BinaryFieldMutation(data, rng),
            };
            if (structured is { } result) return result;
        }
        return ByteMutation(data, rng);
    }

    // ---- byte-level mutations, for every format ----

    static (byte[], string) ByteMutation(byte[] data, Random rng)
    {
        int position = rng.Next(data.Length + 1);
        switch (rng.Next(9))
        {
            case 0:
                return (data[..position], $"truncate at {position}");
            case 1:
            {
                var copy = (byte[])data.Clone();
                int flips = rng.Next(1, 9);
                for (int i = 0; i < flips && copy.Length > 0; i++) copy[rng.Next(copy.Length)] ^= (byte)(1 << rng.Next(8));
                return (copy, $"{flips} bit flips");
            }
            case 2:
            {
                var bytes = new byte[rng.Next(1, 17)];
                rng.NextBytes(bytes);
                return (Insert(data, position, bytes), $"insert {bytes.Length} random bytes at {position}");
            }
            case 3:
            {
                int length = Math.Min(data.Length - Math.Min(position, data.Length), rng.Next(1, 64));
                if (position >= data.Length || length <= 0) goto case 0;
                return ([.. data[..position], .. data[(position + length)..]], $"delete {length} bytes at {position}");
            }
            case 4:
            {
                var nul = new byte[rng.Next(1, 5)];
                return (Insert(data, position, nul), $"insert {nul.Length} NUL bytes at {position}");
            }
            case 5:
            {
                var bad = BadUtf8[rng.Next(BadUtf8.Length)];
                return (Insert(data, position, bad), $"insert invalid UTF-8 {Convert.ToHexString(bad)} at {position}");
            }
            case 6:
            {
                if (data.Length == 0) goto case 2;
                int start = rng.Next(data.Length);
                int length = Math.Min(data.Length - start, rng.Next(1, 256));
                return (Insert(data, position, data[start..(start + length)]), $"duplicate {length} bytes from {start} at {position}");
            }
            case 7:
            {
                if (data.Length == 0) goto case 2;
                int start = rng.Next(data.Length);
                var copy = (byte[])data.Clone();
                copy[start] = (byte)rng.Next(256);
                return (copy, $"byte {start} := {copy[start]}");
            }
            default:
                return BinaryFieldMutation(data, rng) ?? ByteMutation(data, rng);
        }
    }

    /// <summary>Overwrites a 4- or 8-byte little-endian field with a huge value (length and count fields of binary formats).</summary>
    static (byte[], string)? BinaryFieldMutation(byte[] data, Random rng)
    {
        int width = rng.Next(2) == 0 ? 4 : 8;
        if (data.Length < width) return null;
        // Header fields sit near the start (and Parquet's footer near the end): aim there most of the time.
        int position = rng.Next(3) switch
        {
            0 => rng.Next(Math.Min(data.Length - width + 1, 64)),
            1 => Math.Max(0, data.Length - width - rng.Next(Math.Min(data.Length - width + 1, 64))),
            _ => rng.Next(data.Length - width + 1),
        };
        ulong value = HugeFields[rng.Next(HugeFields.Length)];
        var copy = (byte[])data.Clone();
        for (int i = 0; i < width; i++) copy[position + i] = (byte)(value >> (8 * i));
        return (copy, $"{width}-byte field at {position} := {value}");
    }

    static byte[] Insert(byte[] data, int position, byte[] bytes) => [.. data[..position], .. bytes, .. data[position..]];

    // ---- JSON ----

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    const string Placeholder = "\"\u0001fuzz\u0001\"";

    static (byte[], string)? JsonMutation(byte[] data, Random rng)
    {
        JsonNode? root;
        var slots = new List<(JsonNode Parent, string? Key, int Index)>();
        try
        {
            // JsonNode decodes strings and builds objects lazily, so invalid UTF-8 or a duplicated key would only
            // throw later, while walking the tree: check and walk inside the try.
            _ = StrictUtf8.GetCharCount(data);
            root = JsonNode.Parse(data, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, MaxDepth = 256 });
            if (root is null) return null;
            Collect(root, slots);
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException or ArgumentException or InvalidOperationException)
        {
            return null; // an earlier mutation broke the document: byte-level damage only
        }
        if (slots.Count == 0) return null;
        var (parent, key, index) = slots[rng.Next(slots.Count)];
        var current = key is not null ? parent[key] : parent[index];
        var (replacement, raw, what) = Replacement(current, rng);
        Set(parent, key, index, replacement ?? JsonValue.Create("\u0001fuzz\u0001"));
        string text = root.ToJsonString();
        if (raw is not null) text = text.Replace(Placeholder, raw, StringComparison.Ordinal);
        return (Encoding.UTF8.GetBytes(text), $"{Where(key, index)}: {what}");
    }

    static void Collect(JsonNode node, List<(JsonNode, string?, int)> slots)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    slots.Add((obj, key, -1));
                    if (value is not null) Collect(value, slots);
                }
                break;
            case JsonArray array:
                for (int i = 0; i < array.Count; i++)
                {
                    slots.Add((array, null, i));
                    if (array[i] is { } item) Collect(item, slots);
                }
                break;
        }
    }

    static void Set(JsonNode parent, string? key, int index, JsonNode? value)
    {
        if (key is not null) parent[key] = value;
        else parent.AsArray()[index] = value;
    }

    static string Where(string? key, int index) => key is not null ? $"key '{key}'" : $"item {index}";

    /// <summary>A value of another type than <paramref name="current"/>, or raw JSON text to splice in (deep nesting).</summary>
    static (JsonNode? Node, string? Raw, string What) Replacement(JsonNode? current, Random rng)
    {
        switch (rng.Next(11))
        {
            case 0: return (null, "null", "null");
            case 1:
                string number = HugeNumbers[rng.Next(HugeNumbers.Length)];
                return (null, number, $"number {number}");
            case 2: return (JsonValue.Create(rng.Next(2) == 0), null, "boolean");
            case 3: return (JsonValue.Create("x"), null, "string \"x\"");
            case 4: return (new JsonArray(), null, "empty list");
            case 5: return (new JsonObject(), null, "empty object");
            case 6:
            {
                int length = rng.Next(2) == 0 ? 70_000 : 1 << 21;
                return (JsonValue.Create(new string('a', length)), null, $"string of {length} chars");
            }
            case 7:
            {
                int depth = Depths[rng.Next(Depths.Length)];
                return (null, new string('[', depth) + new string(']', depth), $"{depth} nested lists");
            }
            case 8:
            {
                int depth = Depths[rng.Next(Depths.Length)];
                var sb = new StringBuilder();
                for (int i = 0; i < depth; i++) sb.Append("{\"a\":");
                sb.Append('1').Append('}', depth);
                return (null, sb.ToString(), $"{depth} nested objects");
            }
            case 9:
                // The same value in a list (a scalar where a list is expected is covered by the cases above).
                return (new JsonArray(current?.DeepClone()), null, "wrapped in a list");
            default:
                // Escaped in the JSON text: a NUL, a non-character, a lone surrogate and a path that climbs out.
                return (null, "\"\\u0000\\uFFFF\\uD800 ../../../etc/passwd\"", "string with NUL, lone surrogate, traversal");
        }
    }

    static (byte[], string)? JsonLinesMutation(byte[] data, Random rng)
    {
        var lines = Encoding.UTF8.GetString(data).Split('\n');
        var candidates = Enumerable.Range(0, lines.Length).Where(i => lines[i].Trim().Length > 0).ToList();
        if (candidates.Count == 0) return null;
        int line = candidates[rng.Next(candidates.Count)];
        if (JsonMutation(Encoding.UTF8.GetBytes(lines[line]), rng) is not { } mutated) return null;
        lines[line] = Encoding.UTF8.GetString(mutated.Item1);
        return (Encoding.UTF8.GetBytes(string.Join('\n', lines)), $"line {line + 1}: {mutated.Item2}");
    }

    // ---- YAML ----

    static (byte[], string)? YamlMutation(byte[] data, Random rng)
    {
        var lines = Encoding.UTF8.GetString(data).Split('\n').ToList();
        var keyed = Enumerable.Range(0, lines.Count).Where(i => lines[i].Contains(": ", StringComparison.Ordinal) && !lines[i].TrimStart().StartsWith('#')).ToList();
        if (keyed.Count == 0) return null;
        int at = keyed[rng.Next(keyed.Count)];
        string key = lines[at][..lines[at].IndexOf(": ", StringComparison.Ordinal)];
        int depth = Depths[rng.Next(Depths.Length)];
        (string value, string what) = rng.Next(12) switch
        {
            0 => (new string('[', depth) + new string(']', depth), $"{depth} nested flow lists"),
            1 => (string.Concat(Enumerable.Repeat("{a: ", depth)) + "1" + new string('}', depth), $"{depth} nested flow mappings"),
            2 => ("\n" + string.Concat(Enumerable.Range(1, Math.Min(depth, 2_000)).Select(i => new string(' ', i) + "- \n")), "nested block lists"),
            3 => (HugeNumbers[rng.Next(HugeNumbers.Length)], "huge number"),
            4 => ("[a, b, {c: d}]", "list"),
            5 => ("{a: 1, b: [2]}", "mapping"),
            6 => (new string('x', rng.Next(2) == 0 ? 70_000 : 1 << 21), "long string"),
            7 => ("&a [*a]", "alias to itself"),
            8 => ("*undefined", "undefined alias"),
            9 => ("\"\\0\\x00\\uD800\"", "escaped NUL and lone surrogate"),
            10 => ("!!binary AAAA", "tagged binary"),
            _ => ("\t- x", "tab indentation"),
        };
        lines[at] = key + ": " + value;
        if (rng.Next(6) == 0)
        {
            // A billion-laughs style alias expansion: each level lists the previous one nine times.
            lines.Insert(0, "l0: &l0 [x, x, x, x, x, x, x, x, x]");
            for (int level = 1; level < 9; level++)
                lines.Insert(level, $"l{level}: &l{level} [{string.Join(", ", Enumerable.Repeat($"*l{level - 1}", 9))}]");
            what += " + alias bomb (9^9 nodes)";
        }
        return (Encoding.UTF8.GetBytes(string.Join('\n', lines)), $"'{key.Trim()}': {what}");
    }

    // ---- text (CSV, plain text) ----

    static (byte[], string)? TextMutation(byte[] data, Random rng)
    {
        var text = Encoding.UTF8.GetString(data);
        int position = rng.Next(text.Length + 1);
        (string insert, string what) = rng.Next(6) switch
        {
            0 => ("\"", "unbalanced quote"),
            1 => (new string('a', 1 << 21), "2M-character line"),
            2 => ("\r", "lone CR"),
            3 => (string.Concat(Enumerable.Repeat(",", 5_000)), "5000 commas"),
            4 => ("\"\"\"x\"\"\"", "quoted quotes"),
            _ => (new string('\n', 1_000), "1000 blank lines"),
        };
        return (Encoding.UTF8.GetBytes(text.Insert(position, insert)), $"{what} at char {position}");
    }

    // ---- safetensors: mutate the JSON header, then write a correct (or a wrong) length prefix ----

    static (byte[], string)? SafetensorsMutation(byte[] data, Random rng)
    {
        if (data.Length < 8) return null;
        ulong length = BitConverter.ToUInt64(data, 0);
        if (length > (ulong)(data.Length - 8)) return null;
        byte[] header = data[8..(8 + (int)length)];
        byte[] body = data[(8 + (int)length)..];
        if (JsonMutation(header, rng) is not { } mutated) return null;
        ulong declared = (ulong)mutated.Item1.Length;
        string what = "header " + mutated.Item2;
        if (rng.Next(5) == 0)
        {
            declared = HugeFields[rng.Next(HugeFields.Length)];
            what += $", length prefix {declared}";
        }
        return ([.. BitConverter.GetBytes(declared), .. mutated.Item1, .. body], what);
    }
}
