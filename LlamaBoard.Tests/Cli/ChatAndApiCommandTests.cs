using LlamaBoard.Cli;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Tests.Engine.Inference;
using static LlamaBoard.Tests.Cli.CliTestKit;

namespace LlamaBoard.Tests.Cli;

/// <summary><c>llamaboard chat</c> and <c>llamaboard api</c> on the memorized chat model, with the real engine loader.</summary>
public sealed class ChatAndApiCommandTests
{
    static string Config(TempDirectory temp, string extra = "")
    {
        string path = temp.File("chat.yaml");
        File.WriteAllText(path, $"""
            model_name_or_path: {MemorizedChatModel.Folder()}
            template: qwen3
            infer_dtype: float32
            device: cpu
            do_sample: false
            max_new_tokens: 200
            {extra}
            """);
        return path;
    }

    static CliServices Services(string input, ManualInterrupts? interrupts = null, Func<string, string?>? environment = null,
                                Action<Uri>? started = null) => new()
    {
        CreateChatEngine = CliServices.Default.CreateChatEngine,
        Input = new StringReader(input),
        Interrupts = interrupts ?? new ManualInterrupts(),
        Environment = environment ?? (_ => null),
        ApiStarted = started,
    };

    [Fact]
    public void Chat_streams_replies_with_the_thought_apart_and_clears_history()
    {
        using var temp = new TempDirectory();
        var (code, output, error) = Run(Services("Say hello.\n/clear\n/model nothing\n/exit\n"), "chat", Config(temp));
        Assert.True(code == ExitCodes.Success, error);
        Assert.Contains("Thinking: A greeting is wanted.", output);
        Assert.Contains("Assistant: Hello there! Goodbye now.", output);
        Assert.Contains("History has been removed.", output);
        Assert.Contains("No model is called 'nothing'", output);
        Assert.Contains("Bye.", output);
    }

    [Fact]
    public void Chat_serves_extra_adapters_by_name_and_switches_between_them()
    {
        using var temp = new TempDirectory();
        string adapter = AdapterFixtures.Write(MemorizedChatModel.Folder(), temp.File("ada"), ["all"], 4, false, 31);
        var (code, output, error) = Run(Services("/model ada\nSay hello.\n"), "chat", Config(temp), "--adapter", $"ada={adapter}");
        Assert.True(code == ExitCodes.Success, error);
        Assert.Contains($"models: {Path.GetFileName(MemorizedChatModel.Folder())}, ada", output);
        Assert.Contains("Now chatting with ada.", output);
        Assert.Contains("Serving the adapter", output);
    }

    [Fact]
    public void Chat_reports_a_missing_adapter_folder_plainly()
    {
        using var temp = new TempDirectory();
        var (code, _, error) = Run(Services(""), "chat", Config(temp), "--adapter", $"x={temp.File("missing")}");
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("adapter_config.json", error);
    }

    [Fact]
    public void Api_serves_until_ctrl_c()
    {
        using var temp = new TempDirectory();
        var interrupts = new ManualInterrupts();
        string? models = null;
        var services = Services("", interrupts, name => name == "API_PORT" ? "0" : null, url => Task.Run(async () =>
        {
            using var http = new HttpClient();
            models = await http.GetStringAsync(new Uri(url, "v1/models"));
            interrupts.Press();
        }));
        var (code, output, error) = Run(services, "api", Config(temp));
        Assert.True(code == ExitCodes.Success, error);
        Assert.Contains($"\"id\":\"{Path.GetFileName(MemorizedChatModel.Folder())}\"", models);
        Assert.Contains("no API key", output);
        Assert.Contains("API stopped.", output);
    }

    [Fact]
    public void Api_refuses_to_listen_beyond_loopback_without_a_key()
    {
        using var temp = new TempDirectory();
        var (code, _, error) = Run(Services("", environment: name => name == "API_HOST" ? "0.0.0.0" : null), "api", Config(temp));
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Contains("API_KEY", error);
    }
}
