using System.CommandLine;
using System.Globalization;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Web.Api;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard api &lt;config&gt; [key=value ...] [--adapter name=path ...] [--host H] [--port P]</c>: serves the
/// OpenAI-compatible API (GET /v1/models, POST /v1/chat/completions) until Ctrl+C. The address defaults to
/// API_HOST:API_PORT, else 127.0.0.1:8000; API_KEY requires a Bearer key and is needed beyond loopback.
/// </summary>
internal static class ApiCommand
{
    public static Command Create(TextWriter output, TextWriter error, CliServices services)
    {
        var arguments = new ConfigArguments();
        var adapters = AdapterOption.Create();
        var host = new Option<string?>("--host") { Description = $"Address to listen on (default: API_HOST, else {ApiServer.DefaultHost})." };
        var port = new Option<int?>("--port") { Description = $"TCP port (default: API_PORT, else {ApiServer.DefaultPort}; 0 picks a free one)." };
        var command = arguments.AddTo(new Command("api", "Serve an OpenAI-compatible chat-completions API for the model."));
        command.Options.Add(adapters);
        command.Options.Add(host);
        command.Options.Add(port);
        command.SetAction(async (parseResult, _) =>
        {
            var errors = Consoles.For(error);
            var options = arguments.Load(parseResult, OptionsPurpose.Api, services, Consoles.For(output), errors, out int exitCode);
            if (options is null) return exitCode;
            if (services.CreateChatEngine is not { } create) return ConfigArguments.NotBuilt(errors, "The OpenAI-compatible API server");
            if (AdapterOption.Parse(parseResult.GetValue(adapters), error) is not { } extra) return ExitCodes.BadConfiguration;

            string address = parseResult.GetValue(host) ?? services.Environment("API_HOST") ?? ApiServer.DefaultHost;
            int listenPort = parseResult.GetValue(port) ?? ParsePort(services.Environment("API_PORT"));
            if (listenPort < 0)
            {
                error.WriteLine($"API_PORT '{services.Environment("API_PORT")}' is not a port number (0-65535).");
                return ExitCodes.BadConfiguration;
            }
            var apiOptions = new OpenAiApiOptions
            {
                ApiKey = services.Environment("API_KEY") is { Length: > 0 } key ? key : null,
                ModelAlias = services.Environment("API_MODEL_NAME") is { Length: > 0 } alias ? alias : null,
            };
            if (!ApiServer.IsLoopback(address) && apiOptions.ApiKey is null)
            {
                error.WriteLine($"Refusing to serve the API on {address}, beyond this machine, without an API key: set API_KEY, or listen on 127.0.0.1.");
                return ExitCodes.BadConfiguration;
            }

            ChatEngine engine;
            try
            {
                engine = create(options, extra, line => output.WriteLine(line));
            }
            catch (Exception e) when (e is not TorchRuntimeException)
            {
                error.WriteLine($"error: {e.Message}");
                return ExitCodes.Failure;
            }
            using (engine)
            {
                await using var app = ApiServer.Build(engine, address, listenPort, apiOptions);
                using var stopped = new CancellationTokenSource();
                using var subscription = services.Interrupts.Subscribe(() =>
                {
                    stopped.Cancel();
                    return true;
                });
                await app.StartAsync(CancellationToken.None);
                var url = ApiServer.Address(app);
                output.WriteLine($"Serving {string.Join(", ", engine.ModelNames)} on {url}v1 (OpenAI-compatible; " +
                                 $"{(apiOptions.ApiKey is null ? "no API key" : "API key required")}). Ctrl+C stops.");
                output.Flush();
                services.ApiStarted?.Invoke(url);
                try
                {
                    await Task.Delay(Timeout.Infinite, stopped.Token);
                }
                catch (OperationCanceledException)
                {
                }
                await app.StopAsync(CancellationToken.None);
                output.WriteLine("API stopped.");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    static int ParsePort(string? text) =>
        text is null ? ApiServer.DefaultPort
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value <= 65535 ? value : -1;
}
