using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace LlamaBoard.Engine.Configuration;

/// <summary>
/// Bounds on YAML that a configuration may hold. YamlDotNet's representation model builds and walks nodes
/// recursively and expands aliases by reference, so a deeply nested file overflows the stack (which ends the
/// process: no exception can catch it) and an alias bomb or an alias to its own parent makes the walk endless.
/// LLaMA-Factory configurations nest two or three levels and have a few hundred values at most, so these limits
/// only ever refuse hostile or broken files.
/// </summary>
internal static class YamlLimits
{
    /// <summary>The deepest nesting of lists and mappings accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>The most values a document may expand to (aliases count every time they are used).</summary>
    public const int MaxNodes = 100_000;

    /// <summary>
    /// Walks the parser's events (an iterative state machine, no recursion) and returns why the document is refused,
    /// or null. Syntax errors are left to the real load, which reports them with their position.
    /// </summary>
    public static string? CheckDepth(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        int depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case SequenceStart or MappingStart:
                        if (++depth > MaxDepth) return $"nests lists or mappings more than {MaxDepth} levels deep";
                        break;
                    case SequenceEnd or MappingEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (YamlException)
        {
            return null;
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this on some damaged input (found by fuzzing) instead of a YamlException.
            return $"cannot be read by the YAML parser ({e.Message})";
        }
        return null;
    }

    /// <summary>Thrown while converting nodes when the document expands beyond <see cref="MaxNodes"/> or <see cref="MaxDepth"/>.</summary>
    public sealed class TooLargeException(string message) : Exception(message);

    /// <summary>Counts converted nodes against <see cref="MaxNodes"/> and depth against <see cref="MaxDepth"/>.</summary>
    public sealed class Budget
    {
        int _nodes;

        /// <summary>Takes one node at <paramref name="depth"/>, or throws <see cref="TooLargeException"/>.</summary>
        public void Take(int depth)
        {
            if (depth > MaxDepth)
                throw new TooLargeException($"nests lists or mappings more than {MaxDepth} levels deep (an alias that contains itself?)");
            if (++_nodes > MaxNodes)
                throw new TooLargeException($"expands to more than {MaxNodes} values (aliases repeat what they point at)");
        }
    }
}
