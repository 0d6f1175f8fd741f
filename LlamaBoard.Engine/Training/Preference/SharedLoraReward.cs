using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>
/// <c>reward_model_type: lora</c> without a second copy of the base weights: the reward adapter lives beside the
/// policy's adapter, and for scoring its A and B are copied into the policy's LoRA layers (B rescaled by the ratio of
/// the two adapters' scalings; zero where the reward adapter has no layer), the reward's value head scores, and the
/// policy's own weights are put back. This is LLaMA-Factory's <c>replace_model(target="reward")</c> with one set of
/// LoRA layers instead of PEFT's named adapters.
/// </summary>
/// <remarks>
/// It needs the reward adapter to fit the policy's layers: its targets among the policy's LoRA layers, the same rank,
/// plain LoRA (no DoRA, PiSSA or modules_to_save) on both sides. <see cref="TryCreate"/> says why when it does not,
/// and the caller falls back to a separate merged copy (<see cref="RewardScorer"/>).
/// </remarks>
public sealed class SharedLoraReward : IRewardSource, IDisposable
{
    readonly DecoderModel policy;
    readonly ValueHead head;
    readonly List<(LoraLinear Layer, Tensor? A, Tensor? B)> swaps;

    SharedLoraReward(DecoderModel policy, ValueHead head, List<(LoraLinear, Tensor?, Tensor?)> swaps)
    {
        this.policy = policy;
        this.head = head;
        this.swaps = swaps;
        head.eval();
        foreach (var (_, parameter) in head.NamedWeights()) parameter.requires_grad = false;
    }

    /// <summary>Sequences per forward pass.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>
    /// The reward adapter of <paramref name="folder"/> sharing <paramref name="policy"/>'s LoRA layers, or null with
    /// the reason it cannot.
    /// </summary>
    /// <param name="policy">The policy with its LoRA layers.</param>
    /// <param name="folder">The reward adapter folder (stage rm's output).</param>
    /// <param name="policyModulesToSave">
    /// Modules the policy trains in full beside its adapter (additional_target). The head is fine (scores never use
    /// the LM head), anything else would change what the reward model sees.
    /// </param>
    public static (SharedLoraReward? Reward, string? Reason) TryCreate(DecoderModel policy, string folder, IReadOnlyList<string>? policyModulesToSave = null)
    {
        if (policyModulesToSave?.FirstOrDefault(m => m != "lm_head") is { } module)
            return (null, $"the policy trains {module} in full, which the reward model would see");
        if (!PeftAdapterFiles.IsAdapterFolder(folder))
            return (null, $"'{folder}' holds no PEFT adapter (adapter_config.json + {PeftAdapterFiles.WeightsFileName})");
        var config = PeftAdapterConfig.Read(folder);
        if (config.UseDora || config.ModulesToSave.Count > 0 || PissaConversion.IterationsOf(config.InitLoraWeights) is not null)
            return (null, "the reward adapter uses DoRA, PiSSA or modules_to_save");
        var policyLayers = LoraAdapter.Layers(policy).ToDictionary(l => l.Name, l => l.Layer, StringComparer.Ordinal);
        if (policyLayers.Count == 0) return (null, "the policy has no LoRA layers");
        if (policyLayers.Values.Any(l => l.Settings.UseDora)) return (null, "the policy uses DoRA");
        var targets = AdapterTargets.Resolve(policy, config.TargetModules, config.LayersToTransform);
        if (targets.FirstOrDefault(t => !policyLayers.ContainsKey(t)) is { } outside)
            return (null, $"the reward adapter adapts {outside}, which the policy's adapter does not");
        if (policyLayers.Values.First().Settings.Rank != config.Rank)
            return (null, $"the reward adapter has rank {config.Rank}, the policy's {policyLayers.Values.First().Settings.Rank}");

        string path = Path.Combine(folder, PeftAdapterFiles.WeightsFileName);
        using var file = SafetensorsFile.Open(path);
        var names = file.Header.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var swaps = new List<(LoraLinear, Tensor?, Tensor?)>();
        var head = ValueHead.LoadFrom(folder, policy.Config.HiddenSize, policy.Device);
        try
        {
            var targetSet = targets.ToHashSet(StringComparer.Ordinal);
            using var scope = NewDisposeScope();
            foreach (var (name, layer) in policyLayers)
            {
                if (!targetSet.Contains(name))
                {
                    swaps.Add((layer, null, null));
                    continue;
                }
                string a = Find(names, name, "lora_A") ?? throw new InvalidDataException($"{path}: no lora_A weight for {name}.");
                string b = Find(names, name, "lora_B") ?? throw new InvalidDataException($"{path}: no lora_B weight for {name}.");
                var aTensor = file.Read(a, ScalarType.Float32, policy.Device).DetachFromDisposeScope();
                var bTensor = (file.Read(b, ScalarType.Float32, policy.Device) * (config.Settings.Scaling / layer.Settings.Scaling)).DetachFromDisposeScope();
                swaps.Add((layer, aTensor, bTensor));
                if (!aTensor.shape.SequenceEqual(layer.LoraA.shape) || !bTensor.shape.SequenceEqual(layer.LoraB.shape))
                    throw new InvalidDataException($"{path}: the LoRA weights of {name} do not fit this model; was the reward model trained on this base model?");
            }
            return (new SharedLoraReward(policy, head, swaps), null);
        }
        catch
        {
            head.Dispose();
            foreach (var (_, a, b) in swaps) { a?.Dispose(); b?.Dispose(); }
            throw;
        }
    }

    static string? Find(HashSet<string> names, string projection, string part) =>
        new[] { $"base_model.model.{projection}.{part}.weight", $"base_model.model.{projection}.{part}.default.weight" }.FirstOrDefault(names.Contains);

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<int[]> sequences)
    {
        bool wasTraining = policy.training;
        policy.eval();
        var kept = new List<(Tensor A, Tensor B)>(swaps.Count);
        try
        {
            using (no_grad())
                foreach (var (layer, a, b) in swaps)
                {
                    kept.Add((layer.LoraA.detach().clone(), layer.LoraB.detach().clone()));
                    if (a is null) layer.LoraB.zero_();
                    else
                    {
                        layer.LoraA.copy_(a);
                        layer.LoraB.copy_(b!);
                    }
                }
            return RewardScorer.ScoreWith(policy, head, sequences, BatchSize);
        }
        finally
        {
            using (no_grad())
                for (int i = 0; i < kept.Count; i++)
                {
                    swaps[i].Layer.LoraA.copy_(kept[i].A);
                    swaps[i].Layer.LoraB.copy_(kept[i].B);
                    kept[i].A.Dispose();
                    kept[i].B.Dispose();
                }
            if (wasTraining) policy.train();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        head.Dispose();
        foreach (var (_, a, b) in swaps) { a?.Dispose(); b?.Dispose(); }
    }
}
