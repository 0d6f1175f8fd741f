using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data.Templates;

/// <summary>
/// JSON text as Python's <c>json.dumps(obj, ensure_ascii=False)</c> writes it (and Jinja's <c>tojson</c>, which
/// chat templates use): ", " and ": " separators, keys in their original order, non-ASCII kept. Tool prompts and
/// tool calls are rendered this way by the models' own templates, so token-exact prompts need the same text.
/// </summary>
public static class PythonJson
{
    /// <summary>Serialises <paramref name="node"/>; with <paramref name="indent"/>, one item per line.</summary>
    public static string Dumps(JsonNode? node, int? indent = null)
    {
        var text = new StringBuilder();
        Write(text, node, indent, 0);
        return text.ToString();
    }

    static void Write(StringBuilder text, JsonNode? node, int? indent, int depth)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                return;
            case JsonObject o:
                if (o.Count == 0) { text.Append("{}"); return; }
                text.Append('{');
                int i = 0;
                foreach (var (key, value) in o)
                {
                    if (i++ > 0) text.Append(indent is null ? ", " : ",");
                    NewLine(text, indent, depth + 1);
                    WriteString(text, key);
                    text.Append(": ");
                    Write(text, value, indent, depth + 1);
                }
                NewLine(text, indent, depth);
                text.Append('}');
                return;
            case JsonArray a:
                if (a.Count == 0) { text.Append("[]"); return; }
                text.Append('[');
                for (int j = 0; j < a.Count; j++)
                {
                    if (j > 0) text.Append(indent is null ? ", " : ",");
                    NewLine(text, indent, depth + 1);
                    Write(text, a[j], indent, depth + 1);
                }
                NewLine(text, indent, depth);
                text.Append(']');
                return;
        }
        switch (node.GetValueKind())
        {
            case JsonValueKind.String: WriteString(text, node.GetValue<string>()); break;
            case JsonValueKind.True: text.Append("true"); break;
            case JsonValueKind.False: text.Append("false"); break;
            case JsonValueKind.Number: text.Append(node.ToJsonString()); break;
            default: text.Append("null"); break;
        }
    }

    static void NewLine(StringBuilder text, int? indent, int depth)
    {
        if (indent is not { } width) return;
        text.Append('\n').Append(' ', width * depth);
    }

    static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                default:
                    if (c < 0x20) text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }
}
