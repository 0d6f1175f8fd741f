using System.Diagnostics;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Engine.Evaluation;

/// <summary>One line of generated_predictions.jsonl, with LLaMA-Factory's keys.</summary>
/// <param name="Prompt">The prompt as the model saw it (special tokens kept).</param>
/// <param name="Predict">The generated reply (special tokens skipped with skip_special_tokens).</param>
/// <param name="Label">The reference reply.</param>
public sealed record PredictionRecord(string Prompt, string Predict, string Label);

/// <summary>Progress of a prediction, after each batch.</summary>
/// <param name="Batch">Batches done (1-based).</param>
/// <param name="Batches">Batches in all.</param>
/// <param name="ReferenceLoss">Mean next-token loss of the batch's reference replies given their prompts; null when no row has a reference.</param>
/// <param name="GeneratedTokens">Tokens generated so far.</param>
/// <param name="Elapsed">Time since the prediction started.</param>
public sealed record PredictionProgress(int Batch, int Batches, double? ReferenceLoss, long GeneratedTokens, TimeSpan Elapsed);

/// <summary>Everything a prediction produced.</summary>
/// <param name="Records">One per sample, in dataset order (only the batches that ran when stopped).</param>
/// <param name="Scores">Per-record BLEU/ROUGE, aligned with <paramref name="Records"/>.</param>
/// <param name="ReferenceLoss">Token-weighted loss of the references over the whole set (HF's predict_loss); null without references.</param>
/// <param name="Runtime">Wall time.</param>
/// <param name="Batches">Batches that ran.</param>
/// <param name="Stopped">True when stopped on request before the end.</param>
public sealed record PredictionResult(IReadOnlyList<PredictionRecord> Records, IReadOnlyList<SimilarityScores> Scores, double? ReferenceLoss,
                                      TimeSpan Runtime, int Batches, bool Stopped)
{
    /// <summary>predict_results.json: LLaMA-Factory's metric names behind the prefix, plus HF's runtime figures.</summary>
    public IReadOnlyDictionary<string, double> Metrics(string prefix = "predict")
    {
        var metrics = new Dictionary<string, double>();
        foreach (var (name, value) in SimilarityMetrics.Average(Scores)) metrics[$"{prefix}_{name}"] = value;
        if (ReferenceLoss is { } loss) metrics[$"{prefix}_loss"] = loss;
        double seconds = Math.Max(1e-9, Runtime.TotalSeconds);
        metrics[$"{prefix}_runtime"] = Math.Round(seconds, 4);
        metrics[$"{prefix}_samples_per_second"] = Math.Round(Records.Count / seconds, 3);
        metrics[$"{prefix}_steps_per_second"] = Math.Round(Batches / seconds, 3);
        return metrics;
    }
}

/// <summary>
/// Generates a reply for every prompt of a prompt-only dataset (the sft eval set made with predict_with_generate),
/// in left-padded batches through the KV-cache <see cref="TokenGenerator"/>, and scores each reply against its
/// reference with LLaMA-Factory's BLEU/ROUGE. Also scores the reference itself (teacher-forced loss), which the
/// progress events carry as the batch's loss.
/// </summary>
/// <param name="model">The model (adapters attached or merged), in eval mode.</param>
/// <param name="tokenizer">The model's tokenizer (decoding).</param>
/// <param name="stopTokenIds">EOS and the template's stop words.</param>
/// <param name="padTokenId">Id written into left padding.</param>
/// <param name="sampling">Decoding settings (max_new_tokens, do_sample, seed, …).</param>
/// <param name="batchSize">Prompts per batch (per_device_eval_batch_size).</param>
/// <param name="skipSpecialTokens">Drop special tokens from the reply and label text (skip_special_tokens).</param>
public sealed class Predictor(DecoderModel model, HfTokenizer tokenizer, IReadOnlyCollection<int> stopTokenIds, int padTokenId,
                              SamplingOptions sampling, int batchSize, bool skipSpecialTokens = true)
{
    /// <summary>Runs over <paramref name="samples"/>; stops between batches when <paramref name="stop"/> is cancelled.</summary>
    /// <exception cref="ArgumentException">A sample has an empty prompt, or the batch size is below 1.</exception>
    public PredictionResult Run(TokenizedDataset samples, Action<PredictionProgress>? onBatch = null, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (batchSize < 1) throw new ArgumentException($"per_device_eval_batch_size must be at least 1, got {batchSize}.");
        for (int i = 0; i < samples.Count; i++)
            if (samples[i].Main.InputIds.Length == 0)
                throw new ArgumentException($"evaluation sample {i} has an empty prompt; check the dataset's prompt columns and cutoff_len.");

        var generator = new TokenGenerator(model);
        var records = new List<PredictionRecord>(samples.Count);
        var scores = new List<SimilarityScores>(samples.Count);
        int batches = (samples.Count + batchSize - 1) / batchSize;
        double nllSum = 0;
        long targetSum = 0, generated = 0;
        var clock = Stopwatch.StartNew();
        int batch = 0;
        for (; batch < batches && !stop.IsCancellationRequested; batch++)
        {
            var rows = Enumerable.Range(batch * batchSize, Math.Min(batchSize, samples.Count - batch * batchSize))
                                 .Select(i => samples[i].Main).ToList();
            var result = generator.Generate(new GenerationRequest([.. rows.Select(r => (IReadOnlyList<int>)r.InputIds)], sampling,
                                                                  stopTokenIds, padTokenId));
            double batchNll = 0;
            long batchTargets = 0;
            for (int r = 0; r < rows.Count; r++)
            {
                var row = rows[r];
                var output = result.Sequences[r].Tokens;
                generated += output.Count;
                var record = new PredictionRecord(tokenizer.Decode(row.InputIds, skipSpecialTokens: false),
                                                  tokenizer.Decode(output, skipSpecialTokens),
                                                  tokenizer.Decode(row.Labels.Where(id => id != TokenSequence.IgnoreIndex), skipSpecialTokens));
                records.Add(record);
                scores.Add(SimilarityMetrics.Score(record.Predict, record.Label));
                if (ReferenceSequence(row) is { } reference)
                {
                    var item = Perplexity.OfSequence(model, reference, records.Count - 1);
                    batchNll += item.NegativeLogLikelihood;
                    batchTargets += item.Tokens;
                }
            }
            nllSum += batchNll;
            targetSum += batchTargets;
            onBatch?.Invoke(new PredictionProgress(batch + 1, batches, batchTargets > 0 ? batchNll / batchTargets : null, generated, clock.Elapsed));
        }
        return new PredictionResult(records, scores, targetSum > 0 ? nllSum / targetSum : null, clock.Elapsed, batch, batch < batches);
    }

    /// <summary>Prompt followed by its reference, learning only the reference; null when there is none.</summary>
    static TokenSequence? ReferenceSequence(TokenSequence row)
    {
        var label = row.Labels.Where(id => id != TokenSequence.IgnoreIndex).ToArray();
        if (label.Length == 0) return null;
        int[] ids = [.. row.InputIds, .. label];
        int[] labels = [.. Enumerable.Repeat(TokenSequence.IgnoreIndex, row.InputIds.Length), .. label];
        return new TokenSequence(ids, labels);
    }
}
