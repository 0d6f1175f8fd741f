using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Training;

namespace LlamaBoard.Engine.Evaluation;

/// <summary>The samples an evaluation or prediction runs over, with the tokenizer seen through the template.</summary>
/// <param name="Samples">Tokenized samples, one example per row.</param>
/// <param name="Tokenizer">EOS, padding and stop tokens.</param>
public sealed record EvaluationSet(TokenizedDataset Samples, TemplateTokenizer Tokenizer);

/// <summary>
/// Builds the evaluation set of a run as LLaMA-Factory does: <c>eval_dataset</c> when set, else the
/// <c>val_size</c> split of <c>dataset</c>; processed for the given stage (supervised for eval_loss,
/// unsupervised — prompt in, reference reply as label — for predictions), without packing.
/// </summary>
public static class EvaluationData
{
    /// <summary>Prepares (or loads from the tokenized cache) the evaluation samples for <paramref name="stage"/>.</summary>
    /// <exception cref="ArgumentException">No evaluation data is configured, or none is left after preprocessing.</exception>
    /// <exception cref="DatasetException">The data, its description or the template are wrong.</exception>
    public static EvaluationSet Prepare(LlamaBoardOptions options, DataStage stage, string tokenizerFolder,
                                        IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var data = DataPipelineOptions.From(options);
        // Pre-training text is scored in cutoff_len blocks as in training; chat examples one per row.
        if (stage != DataStage.Pretrain) data = data with { Packing = false, NeatPacking = false };
        PreparedData prepared;
        TokenizedDataset samples;
        if (data.EvalDataset.Count > 0)
        {
            prepared = DataPipeline.Prepare(data with { Dataset = data.EvalDataset, EvalDataset = [], ValSize = 0 }, stage, tokenizerFolder,
                                            cancellation: stop);
            samples = prepared.Train;
        }
        else if (data.ValSize > 0 && data.Dataset.Count > 0)
        {
            var trainStage = stage == DataStage.Unsupervised ? DataStage.Supervised : stage;
            prepared = DataPipeline.Prepare(data, trainStage, tokenizerFolder, stage, cancellation: stop);
            samples = prepared.Eval;
        }
        else
        {
            throw new ArgumentException("do_eval and do_predict need evaluation data: set eval_dataset (names in dataset_info.json), " +
                                        "or dataset together with val_size.");
        }
        if (samples.Count == 0)
            throw new ArgumentException("the evaluation set is empty after preprocessing; check eval_dataset or val_size, max_samples and cutoff_len.");
        string source = data.EvalDataset.Count > 0 ? "eval_dataset " + string.Join(",", data.EvalDataset) : $"val_size {data.ValSize} of {string.Join(",", data.Dataset)}";
        progress.Report(new TrainingLog(TrainingLogLevel.Info,
            $"Evaluation data ({stage.Key()}): {samples.Count} samples from {source}{(prepared.FromCache ? " (tokenized cache)" : "")}."));
        return new EvaluationSet(samples, prepared.Tokenizer);
    }
}
