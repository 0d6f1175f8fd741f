using System.Text.Json;
using LlamaBoard.Engine.Hub;
using LlamaBoard.Engine.Models;
using LlamaBoard.Web.Security;

namespace LlamaBoard.Web.Services;

/// <summary>The outcome of checking a model folder.</summary>
/// <param name="IsValid">True when the folder holds a model of a supported type.</param>
/// <param name="Message">What is wrong and what to do; for a valid folder, a short description.</param>
/// <param name="ModelType">config.json's model_type when it could be read.</param>
/// <param name="HubId">Set when the path is a hub id that is not on this machine: the board downloads it (Download, or Start).</param>
public sealed record ModelFolderResult(bool IsValid, string Message, string? ModelType = null, string? HubId = null);

/// <summary>
/// Checks a model folder when the user types or picks it: the folder lies inside the board's allowed folders
/// (<see cref="BoardRoots"/>; nothing outside is even looked at), exists, holds a readable config.json, and its
/// model_type is one LlamaBoard can load. Messages name the path and say what to do.
/// </summary>
public static class ModelFolderCheck
{
    /// <summary>The config.json model_type values LlamaBoard's model loader accepts (its family presets).</summary>
    public static IReadOnlyCollection<string> SupportedTypes => ModelFamilies.SupportedTypes;

    /// <summary>Checks <paramref name="path"/> (relative paths against the current directory) within <paramref name="roots"/>.</summary>
    public static ModelFolderResult Check(string? path, BoardRoots roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        if (string.IsNullOrWhiteSpace(path))
            return new(false, "Choose a model: give the folder of a Hugging Face model (config.json, *.safetensors, tokenizer.json).");
        // Before any look at the disk: whether a folder outside exists is itself not to be told.
        if (roots.ModelRefusal(path, "The model folder") is { } refusal)
            return new(false, refusal);
        string folder;
        try
        {
            folder = Path.GetFullPath(path.Trim());
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return new(false, $"'{path}' is not a valid folder path: {e.Message}");
        }
        if (File.Exists(folder))
            return new(false, $"'{path}' is a file; give the folder that holds config.json.");
        if (!Directory.Exists(folder) && DemoModel.IsDemoPath(path.Trim()))
            return new(true, $"the demo model ({DemoModel.Options(folder).ModelType}); it is created when a run first uses it", DemoModel.Options(folder).ModelType);
        if (!Directory.Exists(folder))
        {
            string id = path.Trim();
            return HubRepoId.IsValid(id) && !HubModelResolver.LooksLikePath(id)
                ? new(false, $"'{id}' is a hub model that is not on this machine yet: press Download in the top bar (Start downloads it first), " +
                             $"or run 'llamaboard download {id}'.", ModelCatalog.Find(id)?.ModelType, id)
                : new(false, $"The folder '{folder}' does not exist: give a local model folder (make the demo model with 'llamaboard init-model').");
        }
        string config = Path.Combine(folder, "config.json");
        if (!File.Exists(config))
            return new(false, $"'{folder}' has no config.json, so it is not a Hugging Face model folder.");
        string? modelType;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(config));
            modelType = document.RootElement.ValueKind == JsonValueKind.Object
                        && document.RootElement.TryGetProperty("model_type", out var type) && type.ValueKind == JsonValueKind.String
                ? type.GetString()
                : null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return new(false, $"{config} cannot be read as JSON: {e.Message}");
        }
        if (string.IsNullOrEmpty(modelType))
            return new(false, $"{config} has no model_type, so LlamaBoard cannot tell which architecture to load.");
        if (!SupportedTypes.Contains(modelType))
            return new(false, $"{config} says model_type '{modelType}', which LlamaBoard cannot load. Supported: {string.Join(", ", SupportedTypes)}.", modelType);
        bool hasWeights = Directory.EnumerateFiles(folder, "*.safetensors").Any();
        return new(true, hasWeights ? $"{modelType} model" : $"{modelType} model; no *.safetensors found yet (only train_from_scratch can use it)", modelType);
    }
}
