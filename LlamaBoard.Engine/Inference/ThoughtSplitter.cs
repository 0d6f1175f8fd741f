namespace LlamaBoard.Engine.Inference;

/// <summary>Which part of a reply a piece of text belongs to.</summary>
public enum ReplyPart
{
    /// <summary>The model's reasoning (between the thought words, e.g. &lt;think&gt;…&lt;/think&gt;).</summary>
    Thought,
    /// <summary>The answer.</summary>
    Answer,
}

/// <summary>
/// Separates a reasoning model's thought from its answer while the text streams: a reply that opens with the
/// thought word (after optional whitespace) is thought until the closing word, and the whitespace between the
/// closing word and the answer is dropped. A reply that opens with anything else is all answer. Tags split
/// across deltas are held back until they are complete.
/// </summary>
public sealed class ThoughtSplitter(string open, string close)
{
    enum State { Start, AfterOpen, Thought, AfterClose, Answer }

    readonly string open = open.Trim();
    readonly string close = close.Trim();
    State state = State.Start;
    string pending = "";

    /// <summary>A splitter for a template's thought words (<c>("&lt;think&gt;\n", "\n&lt;/think&gt;\n\n")</c> for Qwen 3).</summary>
    public static ThoughtSplitter For((string Open, string Close) words) => new(words.Open, words.Close);

    /// <summary>Feeds <paramref name="delta"/>; returns the pieces that are now certain, in order.</summary>
    public List<(ReplyPart Part, string Text)> Push(string delta)
    {
        var output = new List<(ReplyPart, string)>();
        pending += delta;
        while (pending.Length > 0)
        {
            switch (state)
            {
                case State.Start:
                {
                    string trimmed = pending.TrimStart();
                    if (trimmed.Length == 0) return output;
                    if (trimmed.StartsWith(open, StringComparison.Ordinal))
                    {
                        pending = trimmed[open.Length..];
                        state = State.AfterOpen;
                        continue;
                    }
                    if (open.StartsWith(trimmed, StringComparison.Ordinal)) return output; // maybe the tag, still arriving
                    state = State.Answer;
                    continue;
                }
                case State.AfterOpen:
                {
                    // The newline after the opening word belongs to the template, not to the thought.
                    pending = pending.TrimStart('\n');
                    if (pending.Length == 0) return output;
                    state = State.Thought;
                    continue;
                }
                case State.Thought:
                {
                    int at = pending.IndexOf(close, StringComparison.Ordinal);
                    if (at >= 0)
                    {
                        Emit(output, ReplyPart.Thought, pending[..at].TrimEnd('\n'));
                        pending = pending[(at + close.Length)..];
                        state = State.AfterClose;
                        continue;
                    }
                    // Hold back what may be the start of the closing word, and trailing newlines that may precede it.
                    int keep = PartialSuffix(pending, close);
                    string safe = pending[..^keep];
                    int newlines = safe.Length - safe.TrimEnd('\n').Length;
                    keep += newlines;
                    Emit(output, ReplyPart.Thought, pending[..^keep]);
                    pending = pending[^keep..];
                    return output;
                }
                case State.AfterClose:
                {
                    string trimmed = pending.TrimStart();
                    if (trimmed.Length == 0) { pending = ""; return output; }
                    pending = trimmed;
                    state = State.Answer;
                    continue;
                }
                default:
                    Emit(output, ReplyPart.Answer, pending);
                    pending = "";
                    return output;
            }
        }
        return output;
    }

    /// <summary>Ends the stream: whatever is still held (an unclosed thought stays a thought).</summary>
    public List<(ReplyPart Part, string Text)> Flush()
    {
        var output = new List<(ReplyPart, string)>();
        switch (state)
        {
            case State.Thought: Emit(output, ReplyPart.Thought, pending.TrimEnd('\n')); break;
            case State.Start or State.Answer: Emit(output, ReplyPart.Answer, pending); break;
        }
        pending = "";
        return output;
    }

    static void Emit(List<(ReplyPart, string)> output, ReplyPart part, string text)
    {
        if (text.Length > 0) output.Add((part, text));
    }

    /// <summary>Length of the longest tail of <paramref name="text"/> that is a proper prefix of <paramref name="word"/>.</summary>
    static int PartialSuffix(string text, string word)
    {
        for (int length = Math.Min(word.Length - 1, text.Length); length > 0; length--)
            if (string.CompareOrdinal(text, text.Length - length, word, 0, length) == 0) return length;
        return 0;
    }
}
