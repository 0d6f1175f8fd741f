using System.CommandLine;
using LlamaBoard.Engine.Inference;

namespace LlamaBoard.Cli.Commands;

/// <summary><c>--adapter name=path</c> (repeatable): more adapters served by name beside the configuration's own.</summary>
internal static class AdapterOption
{
    public static Option<string[]> Create() => new("--adapter")
    {
        Description = "Serve another PEFT adapter beside the base model, chosen by name: name=path (or just path, named after " +
                      "its folder). Repeat for several; they share one copy of the base model.",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The parsed adapters, or null with the message written to <paramref name="error"/>.</summary>
    public static IReadOnlyList<AdapterSpec>? Parse(string[]? values, TextWriter error)
    {
        var specs = new List<AdapterSpec>();
        foreach (string value in values ?? [])
        {
            try
            {
                specs.Add(AdapterSpec.Parse(value));
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"--adapter: {e.Message}");
                return null;
            }
        }
        return specs;
    }
}
