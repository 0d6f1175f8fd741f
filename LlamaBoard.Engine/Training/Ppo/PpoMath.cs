using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Ppo;

/// <summary>PPO's fixed hyper-parameters, TRL 0.9's PPOConfig defaults (which LLaMA-Factory uses; it sets none of them).</summary>
/// <param name="InitKlCoef">Starting KL penalty coefficient.</param>
/// <param name="Target">Target KL of the adaptive controller (ppo_target).</param>
/// <param name="Horizon">Horizon of the adaptive controller.</param>
/// <param name="Gamma">Discount.</param>
/// <param name="Lambda">GAE λ.</param>
/// <param name="ClipRange">Policy ratio clip ε.</param>
/// <param name="ClipRangeValue">Value clip.</param>
/// <param name="ValueCoef">Weight of the value loss.</param>
/// <param name="RatioThreshold">A mini-batch whose mean ratio exceeds this is skipped (its loss zeroed).</param>
public sealed record PpoSettings(double InitKlCoef = 0.2, double Target = 6.0, double Horizon = 10000, double Gamma = 1.0, double Lambda = 0.95,
                                 double ClipRange = 0.2, double ClipRangeValue = 0.2, double ValueCoef = 0.1, double RatioThreshold = 10.0);

/// <summary>Advantages, returns and the (masked) values they were computed from, all (N, R).</summary>
public sealed record Advantages(Tensor Values, Tensor Advantage, Tensor Returns);

/// <summary>One mini-batch's PPO losses and statistics.</summary>
/// <param name="PolicyLoss">Clipped surrogate loss (scalar).</param>
/// <param name="ValueLoss">vf_coef × clipped value loss (scalar).</param>
/// <param name="Stats">TRL's ppo/… statistics for logging (detached values).</param>
public sealed record PpoLosses(Tensor PolicyLoss, Tensor ValueLoss, IReadOnlyDictionary<string, double> Stats);

/// <summary>
/// The formulas of PPO for language models (Ziegler et al. 2019; TRL 0.9's PPOTrainer, which LLaMA-Factory's PPO
/// runs on), on (N, R) tensors over response tokens with a 0/1 mask: per-token KL-penalised rewards, GAE, whitening,
/// and the clipped policy and value losses. Kept free of models so that they can be checked against PyTorch.
/// </summary>
public static class PpoMath
{
    /// <summary>Mean over the masked entries.</summary>
    public static Tensor MaskedMean(Tensor values, Tensor mask) => (values * mask).sum() / mask.sum();

    /// <summary>Variance over the masked entries (Bessel-corrected, as TRL's masked_var).</summary>
    public static Tensor MaskedVar(Tensor values, Tensor mask, bool unbiased = true)
    {
        var centered = values - MaskedMean(values, mask);
        var variance = MaskedMean(centered.square(), mask);
        if (!unbiased) return variance;
        var count = mask.sum();
        if (Item(count) <= 1)
            throw new InvalidOperationException("PPO whitening needs more than one response token in a batch; raise max_new_tokens or the batch size.");
        return variance * (count / (count - 1));
    }

    /// <summary>(x − mean)/√(var + 1e-8) over the masked entries; the mean is added back when <paramref name="shiftMean"/> is false.</summary>
    public static Tensor MaskedWhiten(Tensor values, Tensor mask, bool shiftMean = true)
    {
        var mean = MaskedMean(values, mask);
        var whitened = (values - mean) * (MaskedVar(values, mask) + 1e-8).rsqrt();
        return shiftMean ? whitened : whitened + mean;
    }

    /// <summary>
    /// Per-token rewards: −β·(log π − log π_ref) at every response token, plus the score at the last one.
    /// Returns (rewards, non-score rewards, per-token KL), each (N, R).
    /// </summary>
    public static (Tensor Rewards, Tensor NonScore, Tensor Kl) Rewards(Tensor scores, Tensor logprobs, Tensor refLogprobs, Tensor mask, double klCoef)
    {
        var kl = logprobs - refLogprobs;                                           // (N, R)
        var nonScore = -klCoef * kl;
        var last = mask.sum(1).to_type(ScalarType.Int64).sub(1).clamp_min(0).unsqueeze(1); // (N, 1): last response token
        var bonus = zeros_like(nonScore).scatter_(1, last, scores.to_type(nonScore.dtype).unsqueeze(1));
        return (nonScore + bonus, nonScore, kl);
    }

    /// <summary>
    /// Generalised advantage estimation over each row's response tokens (masked values and rewards; rewards whitened
    /// without shifting their mean when <paramref name="whitenRewards"/>), returns = advantages + values, and the
    /// advantages whitened over the batch.
    /// </summary>
    public static Advantages Gae(Tensor values, Tensor rewards, Tensor mask, double gamma, double lambda, bool whitenRewards)
    {
        values = values * mask;
        rewards = rewards * mask;
        if (whitenRewards) rewards = MaskedWhiten(rewards, mask, shiftMean: false);
        long length = rewards.shape[1];
        var advantages = zeros_like(rewards);
        var last = zeros(rewards.shape[0], dtype: rewards.dtype, device: rewards.device);  // (N)
        for (long t = length - 1; t >= 0; t--)
        {
            var next = t < length - 1 ? values.select(1, t + 1) : zeros_like(last);
            var delta = rewards.select(1, t) + gamma * next - values.select(1, t);
            last = delta + gamma * lambda * last;
            advantages.select(1, t).copy_(last);
        }
        var returns = advantages + values;
        return new Advantages(values, MaskedWhiten(advantages, mask).detach(), returns);
    }

    /// <summary>
    /// PPO's clipped surrogate and clipped value losses for one mini-batch (the policy and value terms of TRL's
    /// <c>loss</c>), with its statistics; a mini-batch whose mean ratio exceeds the threshold contributes nothing.
    /// </summary>
    public static PpoLosses Losses(Tensor oldLogprobs, Tensor oldValues, Tensor logprobs, Tensor values, Tensor mask,
                                   Tensor advantages, Tensor returns, PpoSettings settings)
    {
        var valuesClipped = values.clamp(oldValues - settings.ClipRangeValue, oldValues + settings.ClipRangeValue);
        var valueLosses1 = (values - returns).square();
        var valueLosses2 = (valuesClipped - returns).square();
        var valueLoss = 0.5 * MaskedMean(maximum(valueLosses1, valueLosses2), mask);

        var ratio = (logprobs - oldLogprobs).exp();
        var policyLosses1 = -advantages * ratio;
        var policyLosses2 = -advantages * ratio.clamp(1 - settings.ClipRange, 1 + settings.ClipRange);
        var policyLoss = MaskedMean(maximum(policyLosses1, policyLosses2), mask);
        double meanRatio = Item(MaskedMean(ratio.detach(), mask));
        if (meanRatio > settings.RatioThreshold)
        {
            // TRL skips such a batch: its losses are zeroed (still in the graph, so backward runs as usual).
            policyLoss = policyLoss * 0.0;
            valueLoss = valueLoss * 0.0;
        }
        var weightedValueLoss = settings.ValueCoef * valueLoss;

        // Everything below is statistics; the returned losses above carry the gradient.
        using var noGrad = no_grad();
        var stats = new Dictionary<string, double>
        {
            ["ppo/loss/policy"] = Item(policyLoss),
            ["ppo/loss/value"] = Item(weightedValueLoss),
            ["ppo/loss/total"] = Item(policyLoss + weightedValueLoss),
            ["ppo/policy/approxkl"] = Item(0.5 * MaskedMean((logprobs - oldLogprobs).square(), mask)),
            ["ppo/policy/policykl"] = Item(MaskedMean(oldLogprobs - logprobs, mask)),
            ["ppo/policy/clipfrac"] = Item(MaskedMean(policyLosses2.gt(policyLosses1).to_type(ScalarType.Float32), mask)),
            ["ppo/policy/ratio"] = meanRatio,
            ["ppo/val/vpred"] = Item(MaskedMean(values, mask)),
            ["ppo/val/error"] = Item(MaskedMean((values - returns).square(), mask)),
            ["ppo/val/clipfrac"] = Item(MaskedMean(valueLosses2.gt(valueLosses1).to_type(ScalarType.Float32), mask)),
            ["ppo/returns/mean"] = Item(MaskedMean(returns, mask)),
        };
        return new PpoLosses(policyLoss, weightedValueLoss, stats);
    }

    static double Item(Tensor scalar) => scalar.to_type(ScalarType.Float64).item<double>();
}

/// <summary>
/// The adaptive KL penalty of Ziegler et al.: after each PPO step the coefficient moves towards keeping the observed
/// KL at the target: β ← β·(1 + clip(KL/target − 1, ±0.2)·n/horizon), n = sequences in the step.
/// </summary>
public sealed class AdaptiveKlController(double initial, double target, double horizon)
{
    /// <summary>The current coefficient.</summary>
    public double Value { get; set; } = initial;

    /// <summary>Updates the coefficient after a step that observed <paramref name="kl"/> over <paramref name="steps"/> sequences.</summary>
    public void Update(double kl, int steps)
    {
        double error = Math.Clamp(kl / target - 1, -0.2, 0.2);
        Value *= 1 + error * steps / horizon;
    }
}

/// <summary>
/// Running mean and standard deviation of the reward scores (TRL's RunningMoments), for ppo_score_norm: scores are
/// normalised by the statistics of all scores seen so far, this batch included.
/// </summary>
public sealed class RunningMoments
{
    /// <summary>Running mean.</summary>
    public double Mean { get; set; }
    /// <summary>Running (population) variance.</summary>
    public double Var { get; set; } = 1;
    /// <summary>Running (sample) standard deviation.</summary>
    public double Std { get; set; } = 1;
    /// <summary>Scores seen (starts at a tiny positive number, as TRL's).</summary>
    public double Count { get; set; } = 1e-24;

    /// <summary>Folds <paramref name="scores"/> into the moments.</summary>
    public void Update(IReadOnlyList<float> scores)
    {
        int n = scores.Count;
        double mean = scores.Average(s => (double)s);
        double variance = scores.Sum(s => (s - mean) * (s - mean)) / n;
        double delta = mean - Mean;
        double total = Count + n;
        double oldSum = Var * Count + delta * delta * Count * n / total;
        Mean += delta * n / total;
        Var = (oldSum + variance * n) / total;
        Std = Math.Sqrt(Var * total / (total - 1));
        Count = total;
    }

    /// <summary>torch.finfo(float32).eps, which TRL adds to the standard deviation.</summary>
    const double FloatEpsilon = 1.1920928955078125e-07;

    /// <summary>(score − mean)/(std + ε) for each score (TRL's use_score_scaling with use_score_norm).</summary>
    public float[] Normalize(IReadOnlyList<float> scores) =>
        scores.Select(s => (float)((s - Mean) / (Std + FloatEpsilon))).ToArray();
}
