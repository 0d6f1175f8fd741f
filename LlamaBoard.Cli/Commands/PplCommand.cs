using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Evaluation;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard ppl</c>: perplexity of a causal LM (plus adapters) on text, per line or example and on average,
/// the counterpart of LLaMA-Factory's perplexity script and a hook for comparing engines.
/// </summary>
internal static class PplCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command("ppl", "Perplexity of a model (and adapters) on a text file (one text per line) or a dataset's examples.");
        var model = new Option<string>("--model") { Description = "Model folder (or demo path models/demo).", Required = true };
        var adapters = new Option<string[]>("--adapter") { Description = "PEFT adapter folder(s), applied in order.", AllowMultipleArgumentsPerToken = true };
        var textFile = new Option<FileInfo?>("--text-file") { Description = "A text file; each non-empty line is scored on its own." };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset name(s) from dataset_info.json, comma-separated." };
        var datasetDir = new Option<string>("--dataset-dir") { Description = "Folder with dataset_info.json.", DefaultValueFactory = _ => "data" };
        var template = new Option<string?>("--template") { Description = "Chat template for datasets (e.g. qwen3)." };
        var stage = new Option<string>("--stage") { Description = "sft (perplexity of responses) or pt (of whole texts), for datasets.", DefaultValueFactory = _ => "sft" };
        var cutoff = new Option<int>("--cutoff-len") { Description = "Longest sequence in tokens.", DefaultValueFactory = _ => 1024 };
        var maxSamples = new Option<int?>("--max-samples") { Description = "Score at most this many examples per dataset." };
        var device = new Option<string>("--device") { Description = ComputeDevices.Allowed, DefaultValueFactory = _ => "auto" };
        var dtype = new Option<string?>("--dtype") { Description = DTypes.Allowed + "; default: the model's." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        foreach (var option in new Option[] { model, adapters, textFile, dataset, datasetDir, template, stage, cutoff, maxSamples, device, dtype, json })
            command.Options.Add(option);

        command.SetAction(parse =>
        {
            var text = parse.GetValue(textFile);
            string? datasets = parse.GetValue(dataset);
            if ((text is null) == (datasets is null))
            {
                error.WriteLine("ppl: give exactly one of --text-file or --dataset.");
                return ExitCodes.BadConfiguration;
            }
            if (text is { Exists: false })
            {
                error.WriteLine($"ppl: --text-file {text.FullName} does not exist.");
                return ExitCodes.BadConfiguration;
            }
            string folder = parse.GetValue(model)!;
            if (DemoModel.IsDemoPath(folder)) DemoModel.EnsureCreated(folder);
            try
            {
                var type = parse.GetValue(dtype) is { } name ? DTypes.TryParse(name) ?? throw new ArgumentException($"--dtype: {DTypes.Allowed}") : (TorchSharp.torch.ScalarType?)null;
                using var loaded = HfModelLoader.Load(folder, type, ComputeDevices.Resolve(parse.GetValue(device)));
                foreach (string adapter in parse.GetValue(adapters) ?? [])
                    PeftAdapterFiles.Load(loaded.Model, adapter);
                loaded.Model.eval();
                PerplexityReport report;
                if (text is not null)
                {
                    var tokenizer = HfTokenizer.Load(folder);
                    report = Perplexity.OfTexts(loaded.Model, tokenizer, File.ReadLines(text.FullName), parse.GetValue(cutoff));
                }
                else
                {
                    var options = new LlamaBoardOptions();
                    options.Data.Dataset = datasets!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    options.Data.DatasetDir = parse.GetValue(datasetDir)!;
                    options.Data.Template = parse.GetValue(template);
                    options.Data.CutoffLen = parse.GetValue(cutoff);
                    options.Data.MaxSamples = parse.GetValue(maxSamples);
                    options.Data.Packing = false;
                    var dataStage = parse.GetValue(stage) == "pt" ? DataStage.Pretrain : DataStage.Supervised;
                    var prepared = DataPipeline.Prepare(DataPipelineOptions.From(options), dataStage, folder);
                    report = Perplexity.OfSamples(loaded.Model, prepared.Train);
                }
                Print(output, report, parse.GetValue(json));
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or DatasetException or ModelConfigException or ModelLoadException)
            {
                error.WriteLine($"ppl: {e.Message}");
                return ExitCodes.BadConfiguration;
            }
        });
        return command;
    }

    static void Print(TextWriter output, PerplexityReport report, bool json)
    {
        if (json)
        {
            var root = new JsonObject
            {
                ["mean_perplexity"] = report.MeanPerplexity,
                ["corpus_perplexity"] = report.CorpusPerplexity,
                ["scored"] = report.Items.Count,
                ["skipped"] = report.Skipped,
                ["items"] = new JsonArray(report.Items.Select(i => (JsonNode)new JsonObject
                {
                    ["index"] = i.Index, ["tokens"] = i.Tokens, ["nll"] = i.NegativeLogLikelihood, ["perplexity"] = i.Perplexity,
                }).ToArray()),
            };
            output.WriteLine(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return;
        }
        foreach (var item in report.Items)
        {
            string label = item.Text is null ? $"example {item.Index}" : Shorten(item.Text);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{item.Index,6}  {item.Perplexity,12:0.000}  {item.Tokens,6} tokens  {label}"));
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mean perplexity {report.MeanPerplexity:0.000} over {report.Items.Count} items (corpus perplexity {report.CorpusPerplexity:0.000}); {report.Skipped} skipped"));
    }

    static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
