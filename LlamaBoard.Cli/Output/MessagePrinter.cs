using LlamaBoard.Engine.Configuration;
using Spectre.Console;

namespace LlamaBoard.Cli.Output;

/// <summary>Prints configuration messages: "error: file.yaml:7: key: problem" in red, warnings in yellow.</summary>
internal static class MessagePrinter
{
    public static void Print(IAnsiConsole console, ValidationReport result)
    {
        foreach (var message in result.Messages)
        {
            if (message.Severity == MessageSeverity.Error)
                console.MarkupLineInterpolated($"[red]error:[/] {message}");
            else
                console.MarkupLineInterpolated($"[yellow]warning:[/] {message}");
        }
    }
}
