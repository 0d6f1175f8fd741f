using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Quantization;

/// <summary>The mean next-token loss of a model on the first samples of a run's data (its perplexity is exp of it).</summary>
internal static class DataLoss
{
    public static double Mean(DecoderModel model, LlamaBoardOptions options, DataStage stage, int samples)
    {
        var data = DataPipeline.Prepare(DataPipelineOptions.From(options), stage, options.Model.ModelNameOrPath!);
        var collator = data.CreateCollator(PaddingSide.Right);
        var objective = new CausalLmObjective(model, stage);
        double loss = 0, weight = 0;
        using var noGrad = no_grad();
        model.eval();
        for (int first = 0; first < Math.Min(samples, data.Train.Count); first += 4)
        {
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(first, Math.Min(4, Math.Min(samples, data.Train.Count) - first)).Select(i => data.Train[i]).ToList();
            using var collated = collator.Collate(batch, stage, CPU);
            weight += objective.Weight(collated);
            loss += objective.Forward(collated).LossSum.item<float>();
        }
        return loss / weight;
    }
}
