using LlamaBoard.Engine.Configuration;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>Per-pair losses and the implicit rewards TRL reports for them.</summary>
/// <param name="Losses">(B) loss of each pair (differentiable).</param>
/// <param name="ChosenRewards">(B) reward of each chosen response, detached.</param>
/// <param name="RejectedRewards">(B) reward of each rejected response, detached.</param>
public sealed record PairLosses(Tensor Losses, Tensor ChosenRewards, Tensor RejectedRewards);

/// <summary>KTO's per-example losses, rewards and the batch's KL estimate.</summary>
/// <param name="ChosenLosses">(C) weighted losses of the desirable examples.</param>
/// <param name="RejectedLosses">(R) weighted losses of the undesirable examples.</param>
/// <param name="ChosenRewards">(C) β·log-ratio of the desirable examples, detached.</param>
/// <param name="RejectedRewards">(R) β·log-ratio of the undesirable examples, detached.</param>
/// <param name="Kl">Scalar: the clamped, detached KL estimate z₀ from the mismatched pairs.</param>
public sealed record KtoLosses(Tensor ChosenLosses, Tensor RejectedLosses, Tensor ChosenRewards, Tensor RejectedRewards, Tensor Kl);

/// <summary>
/// The preference losses as formulas on log-probabilities, separate from any model so that they can be checked
/// against PyTorch on fixed inputs. They follow TRL's DPOTrainer/KTOTrainer (the versions LLaMA-Factory builds on)
/// and LLaMA-Factory's ORPO and SimPO; each takes per-sequence log-probabilities (sums, or per-token averages where
/// the method says so) and returns per-example losses, so the caller decides the normalisation.
/// </summary>
public static class PreferenceLosses
{
    /// <summary>
    /// DPO-family losses against a reference (Rafailov et al.; IPO, Azar et al.; hinge, SLiC; kto_pair, HALOs).
    /// With Δ = (log π(y_w) − log π(y_l)) − (log π_ref(y_w) − log π_ref(y_l)):
    /// <code>
    ///   sigmoid  −(1−ε)·log σ(βΔ) − ε·log σ(−βΔ)      (ε = dpo_label_smoothing: conservative DPO)
    ///   hinge    max(0, 1 − βΔ)
    ///   ipo      (Δ − 1/(2β))²                        (on per-token averaged log-probs)
    ///   kto_pair ½[1 − σ(β(r_w − KL_l))] + ½[1 − σ(β(KL_w − r_l))], KL = clamp(mean log-ratio, 0) of the other half
    /// </code>
    /// Rewards are β·(log π − log π_ref).
    /// </summary>
    public static PairLosses Dpo(PreferenceLoss loss, Tensor policyChosen, Tensor policyRejected, Tensor referenceChosen,
                                 Tensor referenceRejected, double beta, double labelSmoothing = 0)
    {
        var chosenRatio = policyChosen - referenceChosen;                 // (B)
        var rejectedRatio = policyRejected - referenceRejected;           // (B)
        var delta = chosenRatio - rejectedRatio;                          // (B)
        var losses = loss switch
        {
            PreferenceLoss.Sigmoid => -F.logsigmoid(beta * delta) * (1 - labelSmoothing) - F.logsigmoid(-beta * delta) * labelSmoothing,
            PreferenceLoss.Hinge => F.relu(1 - beta * delta),
            PreferenceLoss.Ipo => (delta - 1 / (2 * beta)).square(),
            PreferenceLoss.KtoPair => KtoPair(chosenRatio, rejectedRatio, beta),
            _ => throw new ArgumentException($"pref_loss {loss} does not use a reference model; use Orpo or Simpo.", nameof(loss)),
        };
        return new PairLosses(losses, (beta * chosenRatio).detach(), (beta * rejectedRatio).detach());
    }

    /// <summary>
    /// TRL 0.8's kto_pair (HALOs eq. 7): the KL term of the chosen half is estimated from the rejected half and vice
    /// versa, each the clamped batch mean of the log-ratios (not detached, as in TRL). Returned per pair as the mean of
    /// the pair's two terms, so the mean over pairs equals TRL's mean over the 2B terms.
    /// </summary>
    static Tensor KtoPair(Tensor chosenRatio, Tensor rejectedRatio, double beta)
    {
        var chosenKl = chosenRatio.mean().clamp_min(0);
        var rejectedKl = rejectedRatio.mean().clamp_min(0);
        var chosenLosses = 1 - F.sigmoid(beta * (chosenRatio - rejectedKl));
        var rejectedLosses = 1 - F.sigmoid(beta * (chosenKl - rejectedRatio));
        return (chosenLosses + rejectedLosses) * 0.5;
    }

    /// <summary>
    /// ORPO (Hong et al.), reference-free, on per-token averaged log-probabilities:
    /// −log p(y_w) + β·(−log σ(log odds(y_w) − log odds(y_l))), with log odds(y) = log p − log(1 − p).
    /// Rewards are β·log p (LLaMA-Factory's convention).
    /// </summary>
    public static PairLosses Orpo(Tensor chosenAverage, Tensor rejectedAverage, double beta)
    {
        var logOdds = (chosenAverage - rejectedAverage)
                      - (log1p(-chosenAverage.exp()) - log1p(-rejectedAverage.exp()));     // (B)
        var losses = -chosenAverage + beta * -F.logsigmoid(logOdds);
        return new PairLosses(losses, (beta * chosenAverage).detach(), (beta * rejectedAverage).detach());
    }

    /// <summary>
    /// SimPO (Meng et al.), reference-free, on per-token averaged log-probabilities:
    /// −log σ(β·(log p(y_w) − log p(y_l)) − γ), with γ = simpo_gamma. Rewards are β·log p.
    /// </summary>
    public static PairLosses Simpo(Tensor chosenAverage, Tensor rejectedAverage, double beta, double gamma)
    {
        var logits = (chosenAverage - rejectedAverage) - gamma / beta;                          // (B)
        var losses = -F.logsigmoid(beta * logits);
        return new PairLosses(losses, (beta * chosenAverage).detach(), (beta * rejectedAverage).detach());
    }

    /// <summary>
    /// KTO (Ethayarajh et al.), as TRL's KTOTrainer: z₀ = clamp(mean(log π(KL) − log π_ref(KL)), 0), detached;
    /// desirable: λ_D·(1 − σ(β(r − z₀))); undesirable: λ_U·(1 − σ(β(z₀ − r))), with r = log π − log π_ref.
    /// </summary>
    public static KtoLosses Kto(Tensor policyChosen, Tensor policyRejected, Tensor policyKl, Tensor referenceChosen,
                                Tensor referenceRejected, Tensor referenceKl, double beta, double desirableWeight, double undesirableWeight)
    {
        var kl = (policyKl - referenceKl).mean().detach().clamp_min(0);
        var chosenRatio = policyChosen - referenceChosen;
        var rejectedRatio = policyRejected - referenceRejected;
        var chosenLosses = desirableWeight * (1 - F.sigmoid(beta * (chosenRatio - kl)));
        var rejectedLosses = undesirableWeight * (1 - F.sigmoid(beta * (kl - rejectedRatio)));
        return new KtoLosses(chosenLosses, rejectedLosses, (beta * chosenRatio).detach(), (beta * rejectedRatio).detach(), kl);
    }

    /// <summary>The reward model's pairwise loss (InstructGPT): −log σ(r_w − r_l) per pair.</summary>
    public static Tensor Pairwise(Tensor chosenScores, Tensor rejectedScores) => -F.logsigmoid(chosenScores - rejectedScores);
}
