using System.Text.Json.Nodes;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training.Preference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Preference;

/// <summary>
/// Every preference loss on fixed log-probabilities against PyTorch (LlamaBoard.Tests/Fixtures/pytorch/
/// preference_reference.py, written from TRL's and the papers' formulas): per-example losses, their mean, the
/// gradient of the mean with respect to each policy input, and the rewards, in float64 to 1e-9.
/// </summary>
public class PreferenceLossesTests
{
    public PreferenceLossesTests() => Torch.EnsureReady();

    const double Tolerance = 1e-9;
    const int Pairs = 5;

    sealed record Case(string Name, JsonObject Json);

    static double[] Values(Random random, double low, double high) =>
        Enumerable.Range(0, Pairs).Select(_ => low + random.NextDouble() * (high - low)).ToArray();

    static JsonArray Array(IEnumerable<double> values) => new(values.Select(v => (JsonNode)v).ToArray());

    static List<Case> Cases()
    {
        var random = new Random(17);
        var cases = new List<Case>();
        JsonObject Dpo(string loss, double beta, double smoothing = 0, double gamma = 0)
        {
            var policyChosen = Values(random, -60, -5);
            var policyRejected = Values(random, -60, -5);
            return new JsonObject
            {
                ["kind"] = "dpo", ["loss"] = loss, ["beta"] = beta, ["label_smoothing"] = smoothing, ["gamma"] = gamma,
                ["policy_chosen"] = Array(policyChosen), ["policy_rejected"] = Array(policyRejected),
                ["ref_chosen"] = Array(policyChosen.Select(v => v + random.NextDouble() * 6 - 3)),
                ["ref_rejected"] = Array(policyRejected.Select(v => v + random.NextDouble() * 6 - 3)),
                ["chosen_lengths"] = Array(Enumerable.Range(0, Pairs).Select(_ => (double)random.Next(5, 40))),
                ["rejected_lengths"] = Array(Enumerable.Range(0, Pairs).Select(_ => (double)random.Next(5, 40))),
            };
        }
        cases.Add(new("sigmoid", Dpo("sigmoid", 0.1)));
        cases.Add(new("sigmoid with label smoothing", Dpo("sigmoid", 0.3, smoothing: 0.2)));
        cases.Add(new("hinge", Dpo("hinge", 0.5)));
        cases.Add(new("ipo", Dpo("ipo", 0.1)));
        cases.Add(new("kto_pair", Dpo("kto_pair", 0.1)));
        cases.Add(new("orpo", Dpo("orpo", 0.1)));
        cases.Add(new("simpo", Dpo("simpo", 2.0, gamma: 0.5)));
        cases.Add(new("kto", new JsonObject
        {
            ["kind"] = "kto", ["beta"] = 0.1, ["desirable_weight"] = 1.0, ["undesirable_weight"] = 1.5,
            ["policy_chosen"] = Array(Values(random, -50, -5).Take(3)), ["policy_rejected"] = Array(Values(random, -50, -5).Take(2)),
            ["policy_kl"] = Array(Values(random, -50, -5)),
            ["ref_chosen"] = Array(Values(random, -50, -5).Take(3)), ["ref_rejected"] = Array(Values(random, -50, -5).Take(2)),
            ["ref_kl"] = Array(Values(random, -60, -15)),
        }));
        cases.Add(new("pairwise", new JsonObject
        {
            ["kind"] = "pairwise", ["chosen"] = Array(Values(random, -3, 3)), ["rejected"] = Array(Values(random, -3, 3)),
        }));
        return cases;
    }

    static Tensor Input(JsonObject json, string key, bool grad = false) =>
        tensor(json[key]!.AsArray().Select(n => (double)n!).ToArray(), dtype: ScalarType.Float64).requires_grad_(grad);

    static PreferenceLoss LossOf(string name) => name switch
    {
        "sigmoid" => PreferenceLoss.Sigmoid,
        "hinge" => PreferenceLoss.Hinge,
        "ipo" => PreferenceLoss.Ipo,
        "kto_pair" => PreferenceLoss.KtoPair,
        "orpo" => PreferenceLoss.Orpo,
        "simpo" => PreferenceLoss.Simpo,
        _ => throw new ArgumentException(name),
    };

    /// <summary>Our losses for one case: (per-example losses in the reference's layout, mean, policy inputs, rewards).</summary>
    static (double[] Losses, double Mean, Dictionary<string, Tensor> Inputs, double[] Chosen, double[] Rejected) Ours(JsonObject json)
    {
        switch ((string)json["kind"]!)
        {
            case "dpo":
            {
                var loss = LossOf((string)json["loss"]!);
                var pc = Input(json, "policy_chosen", true);
                var pr = Input(json, "policy_rejected", true);
                var rc = Input(json, "ref_chosen");
                var rr = Input(json, "ref_rejected");
                Tensor c = pc, r = pr, refC = rc, refR = rr;
                if (DpoObjective.UsesAverages(loss))
                {
                    var lc = Input(json, "chosen_lengths");
                    var lr = Input(json, "rejected_lengths");
                    (c, r, refC, refR) = (pc / lc, pr / lr, rc / lc, rr / lr);
                }
                double beta = (double)json["beta"]!;
                var result = loss switch
                {
                    PreferenceLoss.Orpo => PreferenceLosses.Orpo(c, r, beta),
                    PreferenceLoss.Simpo => PreferenceLosses.Simpo(c, r, beta, (double)json["gamma"]!),
                    _ => PreferenceLosses.Dpo(loss, c, r, refC, refR, beta, (double)json["label_smoothing"]!),
                };
                var mean = result.Losses.mean();
                mean.backward();
                return (Doubles(result.Losses), mean.item<double>(), new() { ["policy_chosen"] = pc, ["policy_rejected"] = pr },
                        Doubles(result.ChosenRewards), Doubles(result.RejectedRewards));
            }
            case "kto":
            {
                var pc = Input(json, "policy_chosen", true);
                var pr = Input(json, "policy_rejected", true);
                var result = PreferenceLosses.Kto(pc, pr, Input(json, "policy_kl"), Input(json, "ref_chosen"), Input(json, "ref_rejected"),
                                                  Input(json, "ref_kl"), (double)json["beta"]!, (double)json["desirable_weight"]!,
                                                  (double)json["undesirable_weight"]!);
                var losses = cat([result.ChosenLosses, result.RejectedLosses]);
                var mean = losses.mean();
                mean.backward();
                return (Doubles(losses), mean.item<double>(), new() { ["policy_chosen"] = pc, ["policy_rejected"] = pr },
                        Doubles(result.ChosenRewards), Doubles(result.RejectedRewards));
            }
            default:
            {
                var c = Input(json, "chosen", true);
                var r = Input(json, "rejected", true);
                var losses = PreferenceLosses.Pairwise(c, r);
                var mean = losses.mean();
                mean.backward();
                return (Doubles(losses), mean.item<double>(), new() { ["chosen"] = c, ["rejected"] = r }, Doubles(c), Doubles(r));
            }
        }
    }

    static double[] Doubles(Tensor t) => t.detach().to_type(ScalarType.Float64).data<double>().ToArray();

    static double[] Read(JsonNode node) => node.AsArray().Select(n => (double)n!).ToArray();

    static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= Tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: PyTorch {expected:R}, ours {actual:R}");

    static void Close(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Close(expected[i], actual[i], $"{what}[{i}]");
    }

    [Fact]
    public void Every_loss_its_gradient_and_rewards_equal_pytorch()
    {
        PythonReference.RequireTorch();
        using var dir = new TempDirectory();
        var cases = Cases();
        File.WriteAllText(dir.File("cases.json"), new JsonArray(cases.Select(c => (JsonNode)c.Json.DeepClone()).ToArray()).ToJsonString());
        var answers = PythonReference.RunJson(PythonReference.Script("preference_reference.py"), "losses", dir.File("cases.json")).AsArray();
        Assert.Equal(cases.Count, answers.Count);
        for (int i = 0; i < cases.Count; i++)
        {
            using var scope = NewDisposeScope();
            var (name, json) = cases[i];
            var answer = answers[i]!.AsObject();
            var (losses, mean, inputs, chosen, rejected) = Ours(json);
            var expectedLosses = Read(answer["losses"]!);
            if (name == "kto_pair")
                // TRL lists the 2B chosen and rejected terms; we report each pair's mean of its two terms.
                expectedLosses = Enumerable.Range(0, Pairs).Select(k => (expectedLosses[k] + expectedLosses[Pairs + k]) / 2).ToArray();
            Close(expectedLosses, losses, $"{name} losses");
            Close((double)answer["mean"]!, mean, $"{name} mean loss");
            foreach (var (key, input) in inputs)
                Close(Read(answer["grad_" + key]!), Doubles(input.grad!), $"{name} d(mean)/d({key})");
            Close(Read(answer["chosen_rewards"]!), chosen, $"{name} chosen rewards");
            Close(Read(answer["rejected_rewards"]!), rejected, $"{name} rejected rewards");
        }
    }

    [Fact]
    public void Label_smoothing_zero_is_plain_dpo_and_reference_free_losses_refuse_a_reference_kind()
    {
        using var scope = NewDisposeScope();
        var pc = tensor(new[] { -10.0, -20.0 });
        var pr = tensor(new[] { -12.0, -15.0 });
        var rc = tensor(new[] { -11.0, -19.0 });
        var rr = tensor(new[] { -11.5, -16.0 });
        var plain = PreferenceLosses.Dpo(PreferenceLoss.Sigmoid, pc, pr, rc, rr, 0.1);
        // −log σ(β·Δ) with Δ = (−10 + 12) − (−11 + 11.5) = 1.5 for the first pair.
        Assert.Equal(-Math.Log(1 / (1 + Math.Exp(-0.15))), plain.Losses[0].item<double>(), 12);
        Assert.Throws<ArgumentException>(() => PreferenceLosses.Dpo(PreferenceLoss.Orpo, pc, pr, rc, rr, 0.1));
    }
}
