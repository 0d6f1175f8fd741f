using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Tests.Engine.Models;
using LlamaBoard.Tests.Engine.Training;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Inference;

/// <summary>Several adapters on one base: outputs equal single-adapter loads, and memory grows by the adapters only.</summary>
public sealed class ModelHostTests
{
    static Tensor Logits(DecoderModel model)
    {
        using var _ = no_grad();
        using var ids = TinyModels.Ids(2, 9, 5);
        return model.Forward(ids);                                                    // (2, 9, V)
    }

    [Fact]
    public void Each_served_adapter_gives_what_the_adapter_loaded_alone_gives()
    {
        Torch.EnsureReady();
        using var temp = new TempDirectory();
        string modelFolder = TrainingFixtures.TinyModel();
        string lora = AdapterFixtures.Write(modelFolder, temp.File("lora"), ["all"], rank: 4, dora: false, seed: 1);
        string dora = AdapterFixtures.Write(modelFolder, temp.File("dora"), ["q_proj", "v_proj", "down_proj"], rank: 8, dora: true, seed: 2);

        using var host = ModelHost.Load(modelFolder, "tiny", ScalarType.Float32, CPU);
        host.Attach("lora", lora);
        host.Attach("dora", dora);
        Assert.Equal(["tiny", "lora", "dora"], host.ModelNames);

        foreach (var (name, folder) in new[] { ("lora", lora), ("dora", dora) })
        {
            using var alone = HfModelLoader.Load(modelFolder, ScalarType.Float32, CPU);
            PeftAdapterFiles.Load(alone.Model, folder);
            using var expected = Logits(alone.Model);
            using (host.Activate(name))
            using (var served = Logits(host.Model))
                TinyModels.Close(expected, served, 1e-5, name);
        }
        using var plain = HfModelLoader.Load(modelFolder, ScalarType.Float32, CPU);
        using var baseExpected = Logits(plain.Model);
        using (host.Activate(null))
        using (var baseServed = Logits(host.Model))
        {
            TinyModels.Close(baseExpected, baseServed, 0, "base");
            using (host.Activate("lora"))
            using (var adapted = Logits(host.Model))
                Assert.True((adapted - baseServed).abs().max().item<float>() > 1e-2, "the adapter changes the output");
        }
    }

    [Fact]
    public void Attaching_adapters_adds_their_bytes_and_no_copy_of_the_base()
    {
        Torch.EnsureReady();
        using var temp = new TempDirectory();
        // Large enough (about 84 MB of fp32 weights) that a second copy of the base would stand out of RSS noise.
        string modelFolder = temp.File("model");
        ModelScaffold.Create(new ModelScaffoldOptions("llama", new ModelShape(512, 4, 8, 8, 1376, 8192), modelFolder) { Seed = 3 });
        string a = AdapterFixtures.Write(modelFolder, temp.File("a"), ["all"], rank: 8, dora: false, seed: 4);
        string b = AdapterFixtures.Write(modelFolder, temp.File("b"), ["all"], rank: 16, dora: true, seed: 5);

        using var host = ModelHost.Load(modelFolder, "base", ScalarType.Float32, CPU);
        long baseBytes = host.BaseBytes;
        GC.Collect();
        long rssBefore = ProcessMemory.Read().ResidentBytes;
        var servedA = host.Attach("a", a);
        var servedB = host.Attach("b", b);
        GC.Collect();
        long rssGrowth = ProcessMemory.Read().ResidentBytes - rssBefore;

        // The base's parameters are the same tensors, untouched; the adapters hold exactly their A, B (and DoRA) tensors.
        Assert.Equal(baseBytes, host.BaseBytes);
        long expectedA = 4 * ExpectedLoraElements(host.Model.Config, 8, dora: false);
        long expectedB = 4 * ExpectedLoraElements(host.Model.Config, 16, dora: true);
        Assert.Equal(expectedA, servedA.Bytes);
        Assert.Equal(expectedB, servedB.Bytes);
        Assert.True(rssGrowth < (servedA.Bytes + servedB.Bytes) + baseBytes / 4,
                    $"RSS grew by {rssGrowth / 1048576.0:0.0} MiB for adapters of {(servedA.Bytes + servedB.Bytes) / 1048576.0:0.0} MiB on a base of {baseBytes / 1048576.0:0.0} MiB");
    }

    /// <summary>r·(in + out) per projection (+ out for DoRA's scale), over every linear layer but the head.</summary>
    static long ExpectedLoraElements(ModelConfig c, int rank, bool dora)
    {
        long h = c.HiddenSize, q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim, m = c.IntermediateSize;
        (long In, long Out)[] shapes = [(h, q), (h, kv), (h, kv), (q, h), (h, m), (h, m), (m, h)];
        return c.NumLayers * shapes.Sum(s => rank * (s.In + s.Out) + (dora ? s.Out : 0));
    }

    [Fact]
    public async Task Side_by_side_runs_the_same_prompt_and_seed_through_the_base_and_each_adapter()
    {
        Torch.EnsureReady();
        using var temp = new TempDirectory();
        string modelFolder = TrainingFixtures.TinyModel();
        var host = ModelHost.Load(modelFolder, "tiny", ScalarType.Float32, CPU);
        host.Attach("one", AdapterFixtures.Write(modelFolder, temp.File("one"), ["all"], 4, false, 7));
        host.Attach("two", AdapterFixtures.Write(modelFolder, temp.File("two"), ["all"], 4, false, 8));
        var sampling = new SamplingOptions { DoSample = true, Temperature = 1.0, TopP = 1.0, TopK = 0, MaxNewTokens = 12 };
        using var engine = new ChatEngine(host, HfTokenizer.Load(modelFolder), ChatTemplates.Get("qwen3"), sampling);
        var request = new ChatRequest { Messages = [new ChatMessage(ChatRole.User, "Compare us.")], Seed = 42, EnableThinking = false };

        var replies = await engine.CompareAsync(request, [null, "one", "two"]);
        Assert.Equal(["tiny", "one", "two"], replies.Select(r => r.Model));
        for (int i = 0; i < 3; i++)
            Assert.Equal(replies[i].RawText, (await engine.ChatAsync(request with { Model = replies[i].Model })).RawText);
        Assert.Equal(3, replies.Select(r => r.RawText).Distinct().Count());
    }

    [Fact]
    public void Adapters_that_cannot_share_a_base_or_do_not_fit_are_refused_by_name()
    {
        Torch.EnsureReady();
        using var temp = new TempDirectory();
        string modelFolder = TrainingFixtures.TinyModel();
        using var host = ModelHost.Load(modelFolder, "tiny", ScalarType.Float32, CPU);
        string good = AdapterFixtures.Write(modelFolder, temp.File("good"), ["q_proj"], 4, false, 9);
        host.Attach("good", good);
        Assert.Contains("already used", Assert.Throws<ArgumentException>(() => host.Attach("good", good)).Message);
        Assert.Contains("base model", Assert.Throws<ArgumentException>(() => host.Attach("tiny", good)).Message);

        // A different rank than the file holds: every mis-shaped tensor is named.
        string bad = temp.File("bad");
        Directory.CreateDirectory(bad);
        File.Copy(Path.Combine(good, PeftAdapterFiles.WeightsFileName), Path.Combine(bad, PeftAdapterFiles.WeightsFileName));
        File.WriteAllText(Path.Combine(bad, PeftAdapterConfig.FileName), File.ReadAllText(Path.Combine(good, PeftAdapterConfig.FileName)).Replace("\"r\": 4", "\"r\": 6"));
        var error = Assert.Throws<InvalidDataException>(() => host.Attach("bad", bad));
        Assert.Contains("mis-shaped", error.Message);
        Assert.Contains("q_proj.lora_A.weight", error.Message);
        Assert.Equal(["tiny", "good"], host.ModelNames);

        string saved = temp.File("saved");
        Directory.CreateDirectory(saved);
        File.Copy(Path.Combine(good, PeftAdapterFiles.WeightsFileName), Path.Combine(saved, PeftAdapterFiles.WeightsFileName));
        File.WriteAllText(Path.Combine(saved, PeftAdapterConfig.FileName), File.ReadAllText(Path.Combine(good, PeftAdapterConfig.FileName))
            .Replace("\"modules_to_save\": null", "\"modules_to_save\": [\"lm_head\"]"));
        Assert.Contains("llamaboard export", Assert.Throws<NotSupportedException>(() => host.Attach("saved", saved)).Message);
    }
}
