using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Inference;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Chat;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Services;

namespace LlamaBoard.Tests.Web.Chat;

/// <summary>The Chat tab's model holder and side-by-side conversation, against the real engine.</summary>
public class ChatSessionTests
{
    /// <summary>Options for the memorized qwen3 model in fp32 on the CPU, greedy.</summary>
    internal static LlamaBoardOptions MemorizedOptions()
    {
        var options = new LlamaBoardOptions();
        options.Model.ModelNameOrPath = MemorizedChatModel.Folder();
        options.Model.InferDType = InferDType.Float32;
        options.Model.Device = "cpu";
        options.Data.Template = "qwen3";
        options.Generating.Temperature = 0;
        options.Generating.MaxNewTokens = 60;
        return options;
    }

    static ChatSettings Settings(LlamaBoardOptions options, long seed = 7) =>
        new(null, null, options.Generating, seed, null);

    static async Task WaitUntil(Func<bool> condition, int timeoutMs = 30_000)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.ElapsedMilliseconds > timeoutMs) throw new TimeoutException("condition not met in time");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Each_pane_answers_as_the_engine_does_for_its_model_with_the_same_seed()
    {
        using var workspace = new TempWorkspace();
        var options = MemorizedOptions();
        options.Generating.Temperature = 0.9; // sampling: the same seed must reach every pane
        string adapter = AdapterFixtures.Write(options.Model.ModelNameOrPath!, Path.Combine(workspace.Root, "adapter"),
                                               ["q_proj", "v_proj"], rank: 4, dora: false, seed: 3);
        using var models = new ChatModelService(new BoardRoots([BoardTestContext.FixturesRoot]));
        var loaded = await models.LoadAsync(options, [new AdapterChoice("run-1", adapter)]);
        Assert.Equal(["run-1"], loaded.Targets.Skip(1).Select(t => t.Name));
        Assert.Null(loaded.Targets[0].AdapterFolder);
        Assert.True(loaded.Bytes > loaded.Engine.Host.BaseBytes, "the adapter's matrices are counted");

        using var session = new ChatSession(models);
        int changes = 0;
        session.Changed += () => Interlocked.Increment(ref changes);
        await session.SendAsync("Say hello.", Settings(options, seed: 11));

        Assert.Equal(2, session.Panes.Count);
        foreach (var pane in session.Panes)
        {
            var exchange = Assert.Single(pane.Exchanges);
            Assert.NotNull(exchange.Final);
            Assert.False(exchange.Streaming);
            // The engine asked directly, same model, same seed: the same reply.
            var direct = await loaded.Engine.ChatAsync(new ChatRequest
            {
                Messages = [new(LlamaBoard.Engine.Data.ChatRole.User, "Say hello.")], Model = pane.Target.Name,
                Temperature = 0.9, TopP = options.Generating.TopP, TopK = options.Generating.TopK, MaxNewTokens = 60, Seed = 11,
            });
            Assert.Equal(direct.Text, exchange.Answer);
            Assert.Equal(direct.Thought ?? "", exchange.Thought);
        }
        static string Reply(ChatPaneState p) => p.Exchanges[0].Thought + p.Exchanges[0].Answer;
        Assert.NotEqual(Reply(session.Panes[0]), Reply(session.Panes[1]));
        Assert.True(changes > 4, $"streamed pieces raise Changed ({changes})");
    }

    [Fact]
    public async Task Thoughts_stay_apart_and_history_carries_the_answers()
    {
        var options = MemorizedOptions();
        using var models = new ChatModelService(new BoardRoots([BoardTestContext.FixturesRoot]));
        await models.LoadAsync(options, []);
        using var session = new ChatSession(models);

        await session.SendAsync("Say hello.", Settings(options));
        var pane = Assert.Single(session.Panes);
        Assert.Equal("Hello there! Goodbye now.", pane.Exchanges[0].Answer);
        Assert.Equal("A greeting is wanted.", pane.Exchanges[0].Thought.Trim());

        // The second turn sends the first exchange (answer only) as history.
        var history = pane.History("What is my name?");
        Assert.Equal(["user", "assistant", "user"], history.Select(m => m.RoleName));
        Assert.Equal("Hello there! Goodbye now.", history[1].Content);

        session.Clear();
        Assert.Empty(pane.Exchanges);
        await models.UnloadAsync();
        session.Sync();
        Assert.Empty(session.Panes);
        await Assert.ThrowsAsync<InvalidOperationException>(() => session.SendAsync("Hi", Settings(options)));
    }

    [Fact]
    public async Task Stop_cancels_the_reply_at_the_next_token_and_skips_the_waiting_panes()
    {
        using var workspace = new TempWorkspace();
        string demo = Path.Combine(workspace.Root, "models", "demo");
        DemoModel.EnsureCreated(demo);
        var options = new LlamaBoardOptions();
        options.Model.ModelNameOrPath = demo;
        options.Model.InferDType = InferDType.Float32;
        options.Data.Template = "qwen3";
        options.Data.EnableThinking = false;
        options.Generating.DoSample = false;
        options.Generating.MaxNewTokens = 20_000; // the random demo model would go on for a long time (within its 32k context)
        string adapter = AdapterFixtures.Write(demo, Path.Combine(workspace.Root, "adapter"), ["q_proj"], rank: 2, dora: false, seed: 1);
        using var models = new ChatModelService(new BoardRoots([BoardTestContext.FixturesRoot]));
        await models.LoadAsync(options, [new AdapterChoice("a", adapter)]);
        using var session = new ChatSession(models);

        var send = session.SendAsync("Tell me a long story.", Settings(options));
        await WaitUntil(() => session.Panes[0].Exchanges.Count == 1 && session.Panes[0].Exchanges[0].Answer.Length > 0);
        Assert.True(session.IsSending);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        session.Stop();
        await send.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(clock.ElapsedMilliseconds < 5000, $"stopped after {clock.ElapsedMilliseconds} ms");
        Assert.False(session.IsSending);
        Assert.True(session.Panes[0].Exchanges[0].Stopped);
        Assert.True(session.Panes[1].Exchanges[0].Stopped);
        Assert.Equal("", session.Panes[1].Exchanges[0].Answer);
        // Stopped exchanges stay out of the history sent next.
        Assert.Single(session.Panes[0].History("again"));
    }

    [Fact]
    public async Task A_bad_adapter_fails_the_load_with_its_folder_named_and_nothing_stays_loaded()
    {
        using var workspace = new TempWorkspace();
        string notAnAdapter = Directory.CreateDirectory(Path.Combine(workspace.Root, "empty")).FullName;
        using var models = new ChatModelService(new BoardRoots([BoardTestContext.FixturesRoot]));
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => models.LoadAsync(MemorizedOptions(), [new AdapterChoice("x", notAnAdapter)]));
        Assert.Contains(notAnAdapter, failure.Message, StringComparison.Ordinal);
        Assert.Null(models.Current);
        Assert.False(models.IsLoading);
    }
}
