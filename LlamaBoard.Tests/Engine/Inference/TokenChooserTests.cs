using LlamaBoard.Engine.Inference;
using LlamaBoard.Tests.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Inference;

/// <summary>The logits processors against values worked out by hand from transformers' definitions.</summary>
public sealed class TokenChooserTests
{
    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens()
    {
        Torch.EnsureReady();
        using var scores = tensor(new float[] { 2, -2, 1, -1 }).unsqueeze(0);
        using var seen = tensor(new[] { true, true, false, false }).unsqueeze(0);
        using var result = TokenChooser.RepetitionPenalty(scores, seen, 2.0);
        TinyModels.Close(tensor(new float[] { 1, -4, 1, -1 }).unsqueeze(0), result, 0);
    }

    [Fact]
    public void Top_k_keeps_the_k_largest_logits()
    {
        Torch.EnsureReady();
        using var scores = tensor(new float[] { 0.1f, 3, -1, 2, 0.5f }).unsqueeze(0);
        using var result = TokenChooser.TopK(scores, 2);
        Assert.Equal([false, true, false, true, false], result[0].isfinite().data<bool>().ToArray());
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p_and_always_the_best_token()
    {
        Torch.EnsureReady();
        // Probabilities 0.5, 0.25, 0.125, 0.125: sorted ascending their running sums are 0.125, 0.25, 0.5, 1.
        using var scores = tensor(new[] { 0.5, 0.125, 0.25, 0.125 }).log().to_type(ScalarType.Float32).unsqueeze(0);
        using var p70 = TokenChooser.TopP(scores, 0.7);   // removes sums ≤ 0.3: both 0.125s
        Assert.Equal([true, false, true, false], p70[0].isfinite().data<bool>().ToArray());
        using var p40 = TokenChooser.TopP(scores, 0.4);   // removes sums ≤ 0.6: all but 0.5
        Assert.Equal([true, false, false, false], p40[0].isfinite().data<bool>().ToArray());
        using var p01 = TokenChooser.TopP(scores, 0.01);  // would remove everything: the best token stays
        Assert.Equal([true, false, false, false], p01[0].isfinite().data<bool>().ToArray());
    }
}
