using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>Something that scores whole token sequences (prompt + response) with one scalar reward each.</summary>
public interface IRewardSource
{
    /// <summary>One reward per sequence, in order.</summary>
    float[] Score(IReadOnlyList<int[]> sequences);
}

/// <summary>
/// A trained reward model (stage rm) ready to score: the decoder and its value head, frozen, in evaluation mode.
/// PPO uses it as a <c>reward_model_type: full</c> reward (or as the fallback for a LoRA reward that cannot share
/// the policy's weights), and the API server's score endpoint calls <see cref="Score"/> with tokenized conversations.
/// </summary>
/// <remarks>
/// A sequence's score is the value head's output at its last token, as LLaMA-Factory's trainer and API read it.
/// Sequences are right-padded in batches; padding never changes a score (the attention mask keeps it out).
/// </remarks>
public sealed class RewardScorer : IRewardSource, IDisposable
{
    readonly DecoderModel model;
    readonly ValueHead head;

    RewardScorer(DecoderModel model, ValueHead head, string description)
    {
        this.model = model;
        this.head = head;
        Description = description;
        model.eval();
        head.eval();
        foreach (var (_, parameter) in model.NamedParameters()) parameter.requires_grad = false;
        foreach (var (_, parameter) in head.NamedWeights()) parameter.requires_grad = false;
    }

    /// <summary>What was loaded, for logs.</summary>
    public string Description { get; }

    /// <summary>Sequences per forward pass in <see cref="Score"/>.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>
    /// Loads a reward model saved by stage rm: <paramref name="folder"/> is either a reward adapter (PEFT adapter +
    /// value_head.safetensors), applied to <paramref name="baseModel"/> (default: the adapter's base_model_name_or_path)
    /// and merged; or a full model folder with value_head.safetensors, with <paramref name="adapters"/> merged into it
    /// (the value head is then read from the last adapter when it has one, as LLaMA-Factory does).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">A folder is missing.</exception>
    /// <exception cref="InvalidDataException">No value head, or files that do not fit; the message names the file.</exception>
    public static RewardScorer Load(string folder, ScalarType dtype, Device device, string? baseModel = null, IReadOnlyList<string>? adapters = null)
    {
        TorchRuntime.EnsureInitialized();
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"reward_model: '{folder}' is not a folder; train one with stage: rm first.");
        string modelFolder;
        List<string> merged;
        if (PeftAdapterFiles.IsAdapterFolder(folder))
        {
            modelFolder = baseModel ?? PeftAdapterConfig.Read(folder).BaseModelNameOrPath
                ?? throw new InvalidDataException($"{folder}: the adapter does not name its base model (base_model_name_or_path); give the base model.");
            merged = [folder];
        }
        else
        {
            modelFolder = folder;
            merged = [.. adapters ?? []];
        }
        if (!Directory.Exists(modelFolder))
            throw new DirectoryNotFoundException($"reward model base '{modelFolder}' is not a folder.");
        string headFolder = merged.Count > 0 && ValueHead.Exists(merged[^1]) ? merged[^1] : folder;
        var model = ReferenceModel.LoadMerged(modelFolder, merged, dtype, device);
        try
        {
            var head = ValueHead.LoadFrom(headFolder, model.Config.HiddenSize, device);
            return new RewardScorer(model, head, $"reward model {folder}" + (modelFolder != folder ? $" on {modelFolder}" : ""));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<int[]> sequences) => ScoreWith(model, head, sequences, BatchSize);

    /// <summary>Scores <paramref name="sequences"/> with <paramref name="model"/> and <paramref name="head"/> as they are (no mode change).</summary>
    internal static float[] ScoreWith(DecoderModel model, ValueHead head, IReadOnlyList<int[]> sequences, int batchSize)
    {
        var result = new float[sequences.Count];
        using var noGrad = no_grad();
        var collator = new DataCollator(padTokenId: 0);
        for (int start = 0; start < sequences.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var rows = sequences.Skip(start).Take(batchSize).Select(s =>
            {
                if (s.Length == 0) throw new ArgumentException("cannot score an empty sequence.", nameof(sequences));
                return new TokenSequence(s, s);
            }).ToList();
            using var batch = collator.Pad(rows, device: model.Device);
            var scores = RewardObjective.LastTokenScores(model, head, batch).cpu().data<float>().ToArray();
            scores.CopyTo(result, start);
        }
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        model.Dispose();
        head.Dispose();
    }
}
