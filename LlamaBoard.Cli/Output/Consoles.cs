using Spectre.Console;

namespace LlamaBoard.Cli.Output;

/// <summary>Spectre.Console consoles over the writers the command was given (the real terminal, or a test's StringWriter).</summary>
internal static class Consoles
{
    /// <summary>
    /// A console writing to <paramref name="writer"/>: colours and live redrawing on a terminal; plain,
    /// line-by-line text (no ANSI codes, no wrapping at 80 columns) anywhere else, so logs and tests read cleanly.
    /// </summary>
    public static IAnsiConsole For(TextWriter writer)
    {
        bool terminal = (ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected)
                        || (ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal) console.Profile.Width = 240;
        return console;
    }
}
