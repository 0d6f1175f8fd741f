using System.Text.Json.Nodes;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Optimizers;
using LlamaBoard.Tests.Engine.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Optimizers;

/// <summary>GaLore: steps against a PyTorch statement of galore_torch, training on the demo data, refused settings.</summary>
[Collection(SerialTorchCollection.Name)]
public class GaLoreTests
{
    public GaLoreTests() => Torch.EnsureReady();

    static JsonArray Nested(Tensor t) => t.dim() == 1
        ? new JsonArray(t.data<float>().Select(v => (JsonNode)v).ToArray())
        : new JsonArray(Enumerable.Range(0, (int)t.shape[0]).Select(i => (JsonNode)Nested(t[i])).ToArray());

    [Fact]
    public void Steps_match_a_pytorch_statement_of_galore_including_a_projector_refresh()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDirectory();
        manual_seed(21);
        // A tall weight (right projection), a wide one (left projection) and a bias (plain Adam, no decay).
        var specs = new (string Name, long[] Shape, bool Galore, bool Decay)[]
        {
            ("tall.weight", [12, 8], true, true), ("wide.weight", [6, 10], true, true), ("tall.bias", [8], false, false),
        };
        var parameters = specs.Select(s => new Parameter(randn(s.Shape) * 0.1, requires_grad: true)).ToList();
        var initial = parameters.Select(p => p.detach().clone()).ToList();
        var grads = Enumerable.Range(0, 5).Select(_ => specs.Select(s => randn(s.Shape)).ToList()).ToList();
        var galore = new GaLoreSettings(Rank: 3, UpdateInterval: 2, Scale: 0.5, Targets: new HashSet<string> { "tall.weight", "wide.weight" });
        var settings = new OptimizerSettings(LearningRate: 0.01, WeightDecay: 0.1, GaLore: galore);
        using var optimizer = new TrainingOptimizer(specs.Select((s, i) => new TrainableParameter(s.Name, parameters[i], s.Decay)).ToList(), settings);
        foreach (var step in grads)
        {
            for (int i = 0; i < parameters.Count; i++) parameters[i].grad = step[i].clone();
            Assert.Null(optimizer.Step(1.0, maxGradNorm: 0));
            optimizer.ZeroGrad();
        }

        var input = new JsonObject
        {
            ["settings"] = new JsonObject { ["lr"] = 0.01, ["weight_decay"] = 0.1, ["beta1"] = 0.9, ["beta2"] = 0.999, ["eps"] = 1e-8, ["rank"] = 3, ["gap"] = 2, ["scale"] = 0.5 },
            ["params"] = new JsonArray(specs.Select((s, i) => (JsonNode)new JsonObject
            {
                ["name"] = s.Name, ["values"] = Nested(initial[i]), ["galore"] = s.Galore, ["decay"] = s.Decay,
            }).ToArray()),
            ["grads"] = new JsonArray(grads.Select(step => (JsonNode)new JsonArray(step.Select(g => (JsonNode)Nested(g)).ToArray())).ToArray()),
        };
        File.WriteAllText(dir.File("input.json"), input.ToJsonString());
        var reference = JsonNode.Parse(PythonReference.RunScript("galore_reference.py", dir.File("input.json")))!["params"]!.AsArray();
        for (int i = 0; i < parameters.Count; i++)
        {
            var expected = tensor(Flatten(reference[i]!).ToArray()).view(specs[i].Shape);
            double difference = (parameters[i] - expected).abs().max().item<float>();
            Assert.True(difference < 2e-5, $"{specs[i].Name}: max difference {difference}");
            Assert.True((parameters[i] - initial[i]).abs().max().item<float>() > 1e-3, $"{specs[i].Name} moved");
        }
    }

    static IEnumerable<float> Flatten(JsonNode node) =>
        node is JsonArray array ? array.SelectMany(n => Flatten(n!)) : [(float)node];

    [Fact]
    public void Full_tuning_with_galore_learns_and_keeps_moments_in_the_projected_shape()
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Sft(dir.File("out"), FinetuningType.Full, maxSteps: 12);
        options.Finetuning.GaLore.UseGalore = true;
        options.Finetuning.GaLore.Rank = 8;
        options.Finetuning.GaLore.UpdateInterval = 5;
        options.Finetuning.GaLore.Scale = 1.0;
        options.Training.LearningRate = 5e-3;
        var (result, events) = TrainingFixtures.Train(options);
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var losses = TrainingFixtures.Losses(events);
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average() - 0.3, string.Join(", ", losses.Select(l => l.ToString("0.00"))));
        Assert.Contains(events.OfType<TrainingLog>(), e => e.Message.StartsWith("GaLore: rank 8", StringComparison.Ordinal) && e.Message.Contains("14 projected weights", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("proj")]
    [InlineData("layerwise")]
    [InlineData("lora")]
    public void Settings_galore_cannot_honour_are_refused_naming_the_key(string what)
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Sft(dir.File("out"), what == "lora" ? FinetuningType.Lora : FinetuningType.Full, maxSteps: 1);
        options.Finetuning.GaLore.UseGalore = true;
        if (what == "proj") options.Finetuning.GaLore.ProjType = GaloreProjectionType.Left;
        if (what == "layerwise")
        {
            options.Finetuning.GaLore.Layerwise = true;
            options.Training.GradientAccumulationSteps = 2;
        }
        var e = Assert.ThrowsAny<ArgumentException>(() => TrainingFixtures.Train(options));
        Assert.Contains(what switch { "proj" => "galore_proj_type", "layerwise" => "galore_layerwise", _ => "use_galore" }, e.Message);
    }
}
