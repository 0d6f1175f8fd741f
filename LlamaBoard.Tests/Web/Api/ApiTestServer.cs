using LlamaBoard.Engine.Inference;
using LlamaBoard.Tests.Engine.Inference;
using LlamaBoard.Web.Api;
using Microsoft.AspNetCore.Builder;

namespace LlamaBoard.Tests.Web.Api;

/// <summary>
/// The API over the memorized chat model on a free loopback port, with a random adapter "ada" beside the base,
/// once without and once with an API key. Greedy unless a request sets a temperature.
/// </summary>
public sealed class ApiTestServer : IAsyncLifetime
{
    public const string Key = "sk-test-4f8a";
    readonly TempDirectory temp = new();
    WebApplication? open;
    WebApplication? locked;

    public ChatEngine Engine { get; private set; } = null!;
    public Uri OpenUrl { get; private set; } = null!;
    public Uri LockedUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Engine = MemorizedChatModel.Engine(new SamplingOptions { DoSample = true, Temperature = 0, TopP = 1, TopK = 0, MaxNewTokens = 200 });
        string folder = MemorizedChatModel.Folder();
        Engine.Host.Attach("ada", AdapterFixtures.Write(folder, temp.File("ada"), ["all"], rank: 4, dora: false, seed: 12));
        open = ApiServer.Build(Engine, "127.0.0.1", 0, new OpenAiApiOptions());
        locked = ApiServer.Build(Engine, "127.0.0.1", 0, new OpenAiApiOptions { ApiKey = Key });
        await open.StartAsync();
        await locked.StartAsync();
        OpenUrl = new Uri(ApiServer.Address(open), "v1");
        LockedUrl = new Uri(ApiServer.Address(locked), "v1");
    }

    public async Task DisposeAsync()
    {
        if (open is not null) await open.DisposeAsync();
        if (locked is not null) await locked.DisposeAsync();
        Engine.Dispose();
        temp.Dispose();
    }
}
