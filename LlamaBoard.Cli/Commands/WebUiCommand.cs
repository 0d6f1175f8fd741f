using System.CommandLine;
using LlamaBoard.Web;

namespace LlamaBoard.Cli.Commands;

/// <summary><c>llamaboard webui [--host H] [--port P]</c>: serves the board (LlamaBoard.Web) from this process until Ctrl+C.</summary>
internal static class WebUiCommand
{
    /// <summary>The board's customary address: loopback, LLaMA-Factory's port.</summary>
    public const string DefaultHost = "127.0.0.1";
    public const int DefaultPort = 7860;

    public static Command Create(TextWriter output)
    {
        var host = new Option<string>("--host")
        {
            Description = "Address to listen on. Anything beyond loopback exposes the board to the network.",
            DefaultValueFactory = _ => DefaultHost,
        };
        var port = new Option<int>("--port")
        {
            Description = "TCP port to listen on.",
            DefaultValueFactory = _ => DefaultPort,
        };
        var command = new Command("webui", "Start the LlamaBoard web board and serve it until Ctrl+C.");
        command.Options.Add(host);
        command.Options.Add(port);
        command.SetAction(parseResult =>
        {
            string url = BoardUrl(parseResult.GetValue(host)!, parseResult.GetValue(port));
            output.WriteLine($"LlamaBoard: {url}");
            try
            {
                BoardHost.Run(["--urls", url]);
            }
            catch (LlamaBoard.Web.Security.BoardStartupException e)
            {
                // For example --host 0.0.0.0 without LLAMABOARD_TOKEN: say what to change instead of a stack trace.
                output.WriteLine($"error: {e.Message}");
                return ExitCodes.BadConfiguration;
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The URL the board listens on; IPv6 addresses are bracketed.</summary>
    internal static string BoardUrl(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"http://[{host}]:{port}" : $"http://{host}:{port}";
}
