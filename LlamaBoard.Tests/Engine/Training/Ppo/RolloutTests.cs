using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training.Ppo;
using LlamaBoard.Engine.Training.Preference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Ppo;

/// <summary>
/// PPO's per-token view of a rollout against a plain full-logit computation: the log-prob of each response token,
/// the value at the position that predicts it, and the gradient of both reaching the adapter.
/// </summary>
public class RolloutTests
{
    public RolloutTests() => Torch.EnsureReady();

    [Fact]
    public void Token_log_probs_values_and_their_gradients_equal_full_logits()
    {
        using var model = HfModelLoader.Load(TrainingFixtures.TinyModel(), ScalarType.Float32, CPU).Model;
        foreach (var (_, p) in model.NamedParameters()) p.requires_grad = false;
        manual_seed(2);
        LoraAdapter.Attach(model, new LoraSettings(4, 8), AdapterTargets.Resolve(model, ["all"]));
        var adapter = LoraAdapter.Layers(model).SelectMany(l => l.Layer.AdapterParameters()).ToList();
        using (no_grad()) foreach (var (_, layer) in LoraAdapter.Layers(model)) layer.LoraB.normal_(0, 0.1);
        foreach (var p in adapter) p.requires_grad = true;
        using var head = new ValueHead(64, CPU);
        head.eval();
        var rollout = new Rollout([[5, 17, 99, 3], [250, 7], [64, 33, 12]], [[8, 9, 10], [11], [12, 13]]);
        var weights = tensor(new float[] { 0.3f, -1.2f, 0.7f, 2.0f, 0, 0, -0.4f, 0.9f, 0 }).view(3, 3); // (N, R), zero on padding

        using var scope = NewDisposeScope();
        var ours = rollout.Forward(model, head, [0, 1, 2]);
        (ours.LogProbs * weights).sum().backward();
        var ourGrads = adapter.Select(p => p.grad!.clone()).ToList();
        foreach (var p in adapter) p.grad!.zero_();

        // Reference: each sequence alone, full logits, log_softmax, the response tokens picked by hand.
        var expected = zeros(3, 3);
        Tensor total = zeros(1);
        for (int i = 0; i < 3; i++)
        {
            var sequence = rollout.Sequences[i];
            var hidden = model.ForwardHidden(tensor(sequence.Select(t => (long)t).ToArray(), [1, sequence.Length], ScalarType.Int64));
            var logp = model.ComputeLogits(hidden).log_softmax(-1)[0];               // (T, V)
            var values = head.call(hidden)[0];                                       // (T)
            int q = rollout.Queries[i].Length;
            for (int j = 0; j < rollout.Responses[i].Length; j++)
            {
                var token = logp[q - 1 + j, rollout.Responses[i][j]];
                total = total + token * weights[i, j];
                using (no_grad()) expected[i, j] = token.detach();
                Assert.Equal(values[q - 1 + j].item<float>(), ours.Values![i, j].item<float>(), 4);
            }
        }
        total.backward();
        Assert.True(ours.LogProbs.detach().allclose(expected, rtol: 1e-4, atol: 1e-5), "log-probs");
        for (int k = 0; k < adapter.Count; k++)
            Assert.True(ourGrads[k].allclose(adapter[k].grad!, rtol: 1e-3, atol: 1e-6), $"adapter gradient {k}");
    }
}
