using System.Text.Json.Nodes;
using LlamaBoard.Engine.Training.Ppo;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Ppo;

/// <summary>
/// PPO's formulas against PyTorch (preference_reference.py ppo mode, written from TRL 0.9's PPOTrainer): KL-penalised
/// rewards, GAE with and without reward whitening, returns, whitened advantages, the clipped policy and value losses
/// and their gradients, in float64 to 1e-9; and the running score moments and adaptive KL controller.
/// </summary>
public class PpoMathTests
{
    public PpoMathTests() => Torch.EnsureReady();

    const double Tolerance = 1e-9;
    static readonly int[] Lengths = [5, 3, 2];
    const int R = 5;

    static JsonArray Matrix(double[,] values) =>
        new(Enumerable.Range(0, values.GetLength(0)).Select(r =>
            (JsonNode)new JsonArray(Enumerable.Range(0, values.GetLength(1)).Select(c => (JsonNode)values[r, c]).ToArray())).ToArray());

    static double[,] Random2D(Random random, double scale, double offset = 0)
    {
        var values = new double[Lengths.Length, R];
        for (int r = 0; r < Lengths.Length; r++)
            for (int c = 0; c < R; c++) values[r, c] = offset + (random.NextDouble() * 2 - 1) * scale;
        return values;
    }

    static JsonObject Case(int seed, bool whiten)
    {
        var random = new Random(seed);
        var mask = new double[Lengths.Length, R];
        for (int r = 0; r < Lengths.Length; r++)
            for (int c = 0; c < Lengths[r]; c++) mask[r, c] = 1;
        var old = Random2D(random, 1.5, -3);
        var newer = (double[,])old.Clone();
        for (int r = 0; r < Lengths.Length; r++)
            for (int c = 0; c < R; c++) newer[r, c] += (random.NextDouble() * 2 - 1) * 0.4; // some ratios leave [0.8, 1.2]
        var values = Random2D(random, 1);
        var newValues = (double[,])values.Clone();
        for (int r = 0; r < Lengths.Length; r++)
            for (int c = 0; c < R; c++) newValues[r, c] += (random.NextDouble() * 2 - 1) * 0.5;
        return new JsonObject
        {
            ["scores"] = new JsonArray(1.5, -0.7, 0.3), ["old_logprobs"] = Matrix(old), ["ref_logprobs"] = Matrix(Random2D(random, 1.5, -3)),
            ["mask"] = Matrix(mask), ["values"] = Matrix(values), ["new_logprobs"] = Matrix(newer), ["new_values"] = Matrix(newValues),
            ["kl_coef"] = 0.2, ["gamma"] = 1.0, ["lam"] = 0.95, ["whiten_rewards"] = whiten, ["cliprange"] = 0.2, ["cliprange_value"] = 0.2, ["vf_coef"] = 0.1,
        };
    }

    static Tensor Load(JsonObject json, string key) =>
        tensor(json[key]!.AsArray().SelectMany(row => row!.AsArray().Select(v => (double)v!)).ToArray(), dtype: ScalarType.Float64)
            .view(json[key]!.AsArray().Count, -1);

    static void Close(JsonNode expected, Tensor actual, string what)
    {
        var flat = expected is JsonArray rows && rows.Count > 0 && rows[0] is JsonArray
            ? rows.SelectMany(r => r!.AsArray().Select(v => (double)v!)).ToArray()
            : [(double)expected];
        var ours = actual.detach().to_type(ScalarType.Float64).flatten().data<double>().ToArray();
        Assert.Equal(flat.Length, ours.Length);
        for (int i = 0; i < flat.Length; i++)
            Assert.True(Math.Abs(flat[i] - ours[i]) <= Tolerance * Math.Max(1, Math.Abs(flat[i])), $"{what}[{i}]: PyTorch {flat[i]:R}, ours {ours[i]:R}");
    }

    [Fact]
    public void Rewards_advantages_and_losses_equal_trl_formulas_in_pytorch()
    {
        PythonReference.RequireTorch();
        using var dir = new TempDirectory();
        var cases = new[] { Case(3, whiten: false), Case(4, whiten: true) };
        File.WriteAllText(dir.File("ppo.json"), new JsonArray(cases.Select(c => (JsonNode)c.DeepClone()).ToArray()).ToJsonString());
        var answers = PythonReference.RunJson(PythonReference.Script("preference_reference.py"), "ppo", dir.File("ppo.json")).AsArray();
        for (int i = 0; i < cases.Length; i++)
        {
            using var scope = NewDisposeScope();
            var json = cases[i];
            var answer = answers[i]!.AsObject();
            var mask = Load(json, "mask");
            var scores = tensor(json["scores"]!.AsArray().Select(v => (double)v!).ToArray(), dtype: ScalarType.Float64);
            var old = Load(json, "old_logprobs");
            var (rewards, _, _) = PpoMath.Rewards(scores, old, Load(json, "ref_logprobs"), mask, (double)json["kl_coef"]!);
            Close(answer["rewards"]!, rewards, "rewards");
            var advantages = PpoMath.Gae(Load(json, "values"), rewards, mask, 1.0, 0.95, (bool)json["whiten_rewards"]!);
            Close(answer["advantages"]!, advantages.Advantage, "advantages");
            Close(answer["returns"]!, advantages.Returns, "returns");

            var logprobs = Load(json, "new_logprobs").requires_grad_(true);
            var values = Load(json, "new_values").requires_grad_(true);
            var losses = PpoMath.Losses(old, advantages.Values, logprobs, values, mask, advantages.Advantage, advantages.Returns, new PpoSettings());
            (losses.PolicyLoss + losses.ValueLoss).backward();
            Close(answer["policy_loss"]!, losses.PolicyLoss, "policy loss");
            Close(answer["value_loss"]!, losses.ValueLoss, "value loss");
            Close(answer["grad_logprobs"]!, logprobs.grad!, "d loss / d log-probs");
            Close(answer["grad_values"]!, values.grad!, "d loss / d values");
            Assert.True(losses.Stats["ppo/policy/clipfrac"] > 0, "the case exercises the clip");
        }
    }

    [Fact]
    public void Running_moments_equal_the_statistics_of_all_scores_seen()
    {
        var moments = new RunningMoments();
        float[] first = [1.0f, 2.0f, 4.0f], second = [-1.0f, 0.5f];
        moments.Update(first);
        moments.Update(second);
        double[] all = [.. first.Select(x => (double)x), .. second.Select(x => (double)x)];
        double mean = all.Average();
        double sampleStd = Math.Sqrt(all.Sum(x => (x - mean) * (x - mean)) / (all.Length - 1));
        Assert.Equal(mean, moments.Mean, 9);
        Assert.Equal(sampleStd, moments.Std, 6);
        Assert.Equal((float)((4.0 - mean) / sampleStd), moments.Normalize([4.0f])[0], 5);
    }

    [Fact]
    public void Adaptive_kl_coefficient_moves_towards_the_target_by_at_most_twenty_percent()
    {
        var controller = new AdaptiveKlController(0.2, target: 6, horizon: 10000);
        controller.Update(kl: 12, steps: 100);   // error clipped at +0.2: × (1 + 0.2·100/10000)
        Assert.Equal(0.2 * 1.002, controller.Value, 12);
        controller.Update(kl: 3, steps: 100);    // error −0.5 clipped to −0.2
        Assert.Equal(0.2 * 1.002 * 0.998, controller.Value, 12);
    }
}
