using System.Text.Json.Nodes;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training.Preference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Preference;

/// <summary>
/// The preference objectives on a tiny Llama's real log-probabilities against PyTorch (preference_reference.py
/// model mode): the policy is the model with a LoRA adapter, the reference the same model with it off (our
/// <see cref="ReferenceModel.AdapterDisabled"/>). Each loss (dpo sigmoid with label smoothing, hinge, ipo, kto_pair,
/// orpo, simpo; kto; rm) and the norm of its gradient on the LoRA weights must agree: our fp32 model against the
/// reference's float64, to 1e-5 relative for losses and log-probs and 1e-4 for gradient norms.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class PreferencePyTorchTests
{
    public PreferencePyTorchTests() => Torch.EnsureReady();

    const double LossTolerance = 1e-5;
    const double GradTolerance = 1e-4;

    sealed record Rows(long[][] Ids, long[][] Labels)
    {
        public int Length => Ids.Max(r => r.Length);

        long[,] Padded(Func<int, int, long> value, long fill)
        {
            var result = new long[Ids.Length, Length];
            for (int r = 0; r < Ids.Length; r++)
                for (int t = 0; t < Length; t++) result[r, t] = t < Ids[r].Length ? value(r, t) : fill;
            return result;
        }

        public long[,] InputIds => Padded((r, t) => Ids[r][t], 0);
        public long[,] PaddedLabels => Padded((r, t) => Labels[r][t], -100);
        public long[,] Mask => Padded((_, _) => 1, 0);

        public TokenBatch ToBatch() => new(tensor(InputIds), tensor(Mask), tensor(PaddedLabels), tensor(Padded((_, t) => t, 0)));

        public static JsonArray Json(long[,] values) =>
            new(Enumerable.Range(0, values.GetLength(0)).Select(r =>
                (JsonNode)new JsonArray(Enumerable.Range(0, values.GetLength(1)).Select(t => (JsonNode)values[r, t]).ToArray())).ToArray());
    }

    static Rows MakeRows(Random random, params (int Prompt, int Response)[] shapes)
    {
        var ids = new long[shapes.Length][];
        var labels = new long[shapes.Length][];
        for (int r = 0; r < shapes.Length; r++)
        {
            var (prompt, response) = shapes[r];
            ids[r] = Enumerable.Range(0, prompt + response).Select(_ => (long)random.Next(1, 128)).ToArray();
            labels[r] = ids[r].Select((id, t) => t < prompt ? -100L : id).ToArray();
        }
        return new Rows(ids, labels);
    }

    [Fact]
    public void Every_objective_matches_pytorch_on_a_tiny_models_log_probs()
    {
        PythonReference.RequireTorch();
        using var dir = new TempDirectory();
        using var tiny = ReferenceLoraModel.Create(dir);
        var (model, modelDir, adapterDir, loraParameters) = tiny;
        using var head = new ValueHead(32, CPU);
        head.eval();
        head.Save(adapterDir);

        var random = new Random(23);
        // Two pairs: chosen rows first, then rejected rows, with different prompt and response lengths.
        var pairwise = MakeRows(random, (4, 7), (6, 3), (4, 5), (6, 8));
        var kto = MakeRows(random, (3, 6), (5, 4), (4, 7));
        var ktoKl = MakeRows(random, (3, 5), (5, 7), (4, 4));
        bool[] tags = [true, false, true];
        var settings = new PreferenceOptions { Beta = 0.1, DpoLabelSmoothing = 0.1, SimpoGamma = 0.5, KtoChosenWeight = 1.0, KtoRejectedWeight = 1.5 };
        var batchJson = new JsonObject
        {
            ["settings"] = new JsonObject
            {
                ["beta"] = settings.Beta, ["label_smoothing"] = settings.DpoLabelSmoothing, ["simpo_gamma"] = settings.SimpoGamma,
                ["kto_chosen_weight"] = settings.KtoChosenWeight, ["kto_rejected_weight"] = settings.KtoRejectedWeight,
            },
            ["pairwise"] = new JsonObject
            {
                ["input_ids"] = Rows.Json(pairwise.InputIds), ["labels"] = Rows.Json(pairwise.PaddedLabels), ["attention_mask"] = Rows.Json(pairwise.Mask),
            },
            ["kto"] = new JsonObject
            {
                ["input_ids"] = Rows.Json(kto.InputIds), ["labels"] = Rows.Json(kto.PaddedLabels),
                ["kl_input_ids"] = Rows.Json(ktoKl.InputIds), ["kl_labels"] = Rows.Json(ktoKl.PaddedLabels),
                ["tags"] = new JsonArray(tags.Select(t => (JsonNode)t).ToArray()),
            },
        };
        File.WriteAllText(dir.File("batch.json"), batchJson.ToJsonString());
        var expected = PythonReference.RunJson(PythonReference.Script("preference_reference.py"), "model", modelDir, adapterDir, dir.File("batch.json")).AsObject();

        using var reference = ReferenceModel.AdapterDisabled(model);
        double GradNorm()
        {
            double sum = loraParameters.Sum(p => p.grad is null ? 0 : p.grad.square().sum().item<float>());
            foreach (var p in loraParameters) p.grad?.zero_();
            return Math.Sqrt(sum);
        }

        foreach (var (name, loss) in new[] { ("sigmoid", PreferenceLoss.Sigmoid), ("hinge", PreferenceLoss.Hinge), ("ipo", PreferenceLoss.Ipo),
                                             ("kto_pair", PreferenceLoss.KtoPair), ("orpo", PreferenceLoss.Orpo), ("simpo", PreferenceLoss.Simpo) })
        {
            using var scope = NewDisposeScope();
            settings.Loss = loss;
            settings.DpoLabelSmoothing = loss == PreferenceLoss.Sigmoid ? 0.1 : 0;
            var objective = new DpoObjective(model, reference, settings);
            using var batch = new CollatedBatch(pairwise.ToBatch());
            var output = objective.Forward(batch);
            var mean = output.LossSum / objective.Weight(batch);
            mean.backward();
            var answer = expected[name]!.AsObject();
            Close((double)answer["loss"]!, mean.item<float>(), LossTolerance, $"{name} loss");
            Close((double)answer["grad_norm"]!, GradNorm(), GradTolerance, $"{name} gradient norm");
            var logps = answer["logps"]!.AsArray().Select(n => (double)n!).ToArray();
            Close(logps.Take(2).Sum(), output.MetricSums!["logps/chosen"], LossTolerance, $"{name} logps/chosen");
            Close(logps.Skip(2).Sum(), output.MetricSums!["logps/rejected"], LossTolerance, $"{name} logps/rejected");
            var chosenRewards = answer["chosen_rewards"]!.AsArray().Select(n => (double)n!).ToArray();
            // Rewards are β·(log π − log π_ref), a difference of nearly equal fp32 numbers: compare on the scale of the log-probs.
            Close(chosenRewards.Sum(), output.MetricSums!["rewards/chosen"], LossTolerance, $"{name} rewards/chosen", floor: settings.Beta * Math.Abs(logps[0]));
        }
        // The reference ran once per sequence: the later losses were answered from the cache.
        Assert.Equal(4, reference.Computed);
        Assert.True(reference.CacheHits >= 4, $"cache hits {reference.CacheHits}");

        using (var scope = NewDisposeScope())
        {
            var objective = new KtoObjective(model, reference, settings);
            using var batch = new CollatedBatch(kto.ToBatch(), ktoKl.ToBatch(), tensor(tags));
            var output = objective.Forward(batch);
            var mean = output.LossSum / objective.Weight(batch);
            mean.backward();
            var answer = expected["kto"]!.AsObject();
            Close((double)answer["loss"]!, mean.item<float>(), LossTolerance, "kto loss");
            Close((double)answer["grad_norm"]!, GradNorm(), GradTolerance, "kto gradient norm");
            Close((double)answer["kl"]!, output.MetricSums!["kl"], LossTolerance, "kto kl");
        }

        using (var scope = NewDisposeScope())
        {
            var objective = new RewardObjective(model, head);
            using var batch = new CollatedBatch(pairwise.ToBatch());
            var output = objective.Forward(batch);
            var mean = output.LossSum / objective.Weight(batch);
            mean.backward();
            var answer = expected["rm"]!.AsObject();
            Close((double)answer["loss"]!, mean.item<float>(), LossTolerance, "rm loss");
            Close((double)answer["grad_norm"]!, GradNorm(), GradTolerance, "rm gradient norm");
            var scores = answer["scores"]!.AsArray().Select(n => (double)n!).ToArray();
            Close(scores.Take(2).Sum(), output.MetricSums!["scores/chosen"], LossTolerance, "rm chosen scores");
        }
    }

    static void Close(double expected, double actual, double relative, string what, double floor = 1e-3) =>
        Assert.True(Math.Abs(expected - actual) <= relative * Math.Max(floor, Math.Abs(expected)), $"{what}: PyTorch {expected:R}, ours {actual:R}");
}
