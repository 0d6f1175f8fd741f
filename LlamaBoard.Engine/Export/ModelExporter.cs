using System.Diagnostics;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Export;

/// <summary>Runs an export; what <c>llamaboard export</c> and the board call.</summary>
public interface IModelExporter
{
    /// <summary>Exports as <paramref name="request"/> says, reporting steps to <paramref name="progress"/>.</summary>
    ExportResult Export(ExportRequest request, IProgress<string>? progress = null, CancellationToken cancellation = default);
}

/// <summary>
/// The export recipe, top to bottom:
/// <code>
/// checks (folders, GGUF compatibility)  →  staging folder beside export_dir
///   → load the base model (export_device)  →  for each adapter: load it around the projections, merge
///   → write: Hugging Face folder (sharded safetensors, config, generation config, tokenizer files)
///            or GGUF file + Ollama Modelfile
///   → rename the staging folder to export_dir
/// </code>
/// Nothing appears at export_dir until everything is written; a failure, a full disk or a cancellation leaves it
/// as it was.
/// </summary>
public sealed class ModelExporter : IModelExporter
{
    /// <inheritdoc/>
    public ExportResult Export(ExportRequest request, IProgress<string>? progress = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        TorchRuntime.EnsureInitialized();
        string modelDirectory = request.ModelDirectory;
        if (!Directory.Exists(modelDirectory))
            throw new DirectoryNotFoundException($"model_name_or_path '{modelDirectory}' is not a folder.");
        foreach (string adapter in request.Adapters)
            if (!PeftAdapterFiles.IsAdapterFolder(adapter))
                throw new DirectoryNotFoundException(
                    $"adapter_name_or_path '{adapter}' is not a PEFT adapter folder (it needs {PeftAdapterConfig.FileName} and " +
                    $"{PeftAdapterFiles.WeightsFileName}).");

        var config = HfModelLoader.ReadConfig(modelDirectory);
        var warnings = new List<string>();
        if (request.Format == ExportFormat.Gguf)
        {
            // Refuse before loading anything.
            warnings.AddRange(GgufCompatibility.Check(config, GgufArchitectures.For(config.ModelType)));
            if (!File.Exists(Path.Combine(modelDirectory, Tokenization.HfTokenizer.TokenizerFile)))
                throw new GgufExportException($"A GGUF file needs the model's tokenizer, but '{modelDirectory}' has no " +
                                              $"{Tokenization.HfTokenizer.TokenizerFile}. Copy the tokenizer files into the model folder.");
        }

        var device = ComputeDevices.Resolve(request.Device);
        // GGUF F32 needs full precision; otherwise load in the target dtype (merges are computed in fp32 anyway).
        var loadType = request.Format == ExportFormat.Gguf
            ? (request.GgufType == GgmlType.F32 ? ScalarType.Float32 : config.DType ?? ScalarType.Float32)
            : request.DType ?? config.DType ?? ScalarType.Float32;

        using var staged = StagedFolder.Create(request.OutputDirectory, request.Overwrite);
        progress?.Report($"loading {modelDirectory} ({DTypes.HfName(loadType)} on {device})");
        using var loaded = HfModelLoader.Load(modelDirectory, loadType, device);
        cancellation.ThrowIfCancellationRequested();
        AdapterMerge.MergeAdapters(loaded.Model, request.Adapters, progress, cancellation);
        cancellation.ThrowIfCancellationRequested();

        IReadOnlyList<string> written;
        if (request.Format == ExportFormat.Gguf)
        {
            progress?.Report($"writing GGUF ({request.GgufType})");
            string name = Path.GetFileName(Path.GetFullPath(modelDirectory).TrimEnd(Path.DirectorySeparatorChar));
            var result = GgufExporter.Export(loaded.Model, modelDirectory, staged.Path, request.GgufType, name,
                                             loaded.Generation, request.TemplateName, cancellation);
            warnings.AddRange(result.Warnings.Where(w => !warnings.Contains(w)));
            written = [result.GgufPath, result.ModelfilePath];
        }
        else
        {
            var type = request.DType ?? config.DType ?? ScalarType.Float32;
            progress?.Report($"writing a Hugging Face folder ({DTypes.HfName(type)})");
            var files = new List<string>(HfModelSaver.Save(loaded.Model, staged.Path, type, request.MaxShardBytes, loaded.Generation));
            cancellation.ThrowIfCancellationRequested();
            var tokenizerFiles = HfModelSaver.CopyTokenizerFiles(modelDirectory, staged.Path);
            if (!tokenizerFiles.Contains(Tokenization.HfTokenizer.TokenizerFile))
                warnings.Add($"'{modelDirectory}' has no {Tokenization.HfTokenizer.TokenizerFile}, so the export has no tokenizer; " +
                             "copy the tokenizer files into it before using it.");
            files.AddRange(tokenizerFiles.Select(staged.File));
            written = files;
        }
        cancellation.ThrowIfCancellationRequested();
        staged.Commit();
        var final = written.Select(f => Path.Combine(staged.Destination, Path.GetFileName(f))).ToList();
        return new ExportResult(staged.Destination, final, warnings, clock.Elapsed);
    }
}
