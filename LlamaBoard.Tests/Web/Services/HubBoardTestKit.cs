using LlamaBoard.Tests.Engine.Hub;

namespace LlamaBoard.Tests.Web.Services;

/// <summary>Models on the fake hub for the board's download tests.</summary>
static class HubBoardTestKit
{
    /// <summary>
    /// A small qwen3 model repo on the fake hub: config.json and random "weights" of <paramref name="weightBytes"/>
    /// bytes (enough to see progress; the fake trainer never reads them). Returns the weights file.
    /// </summary>
    public static FakeFile PublishFakeModel(FakeHub hub, string id, int weightBytes = 300_000, bool gated = false)
    {
        var weights = FakeContent.Lfs("model.safetensors", weightBytes, seed: 7);
        var repo = hub.AddRepo(id);
        repo.Gated = gated;
        repo.Commit("main", FakeContent.Text("config.json", "{\"model_type\": \"qwen3\", \"hidden_size\": 32}"), weights);
        return weights;
    }

    /// <summary>Publishes every file of a real model folder as the repo <paramref name="id"/> (weights as LFS files); returns the largest.</summary>
    public static FakeFile PublishFolder(FakeHub hub, string id, string folder)
    {
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => new FakeFile(Path.GetRelativePath(folder, f).Replace('\\', '/'), File.ReadAllBytes(f),
                                      lfs: f.EndsWith(".safetensors", StringComparison.Ordinal)))
            .ToArray();
        hub.AddRepo(id).Commit("main", files);
        return files.MaxBy(f => f.Content.Length)!;
    }

    /// <summary>Holds the transfer of <paramref name="file"/> after <paramref name="bytes"/> bytes until the returned source completes.</summary>
    public static TaskCompletionSource Hold(FakeHub hub, FakeFile file, int bytes)
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.HoldAfterBytes = bytes;
        hub.HoldEtag = file.Etag;
        hub.Hold = hold;
        return hold;
    }
}
