namespace LlamaBoard.Tests.Web.Fakes;

/// <summary>A temporary folder for one test's workspace (database, runs, configs), deleted at the end.</summary>
public sealed class TempWorkspace : IDisposable
{
    public TempWorkspace()
    {
        Root = Path.Combine(Path.GetTempPath(), "llamaboard-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>Writes a model folder whose config.json names <paramref name="modelType"/>.</summary>
    public string MakeModel(string name = "demo", string modelType = "qwen3")
    {
        string folder = Path.Combine(Root, "models", name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), $"{{\"model_type\": \"{modelType}\", \"hidden_size\": 32}}");
        File.WriteAllText(Path.Combine(folder, "model.safetensors"), "");
        LlamaBoard.Engine.Tokenization.TinyTokenizer.Write(folder);
        return folder;
    }

    /// <summary>Writes a data folder with dataset_info.json naming two SFT datasets and one ranking dataset.</summary>
    public string MakeData()
    {
        string folder = Path.Combine(Root, "data");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "dataset_info.json"), """
            {
              "demo_sft": {"file_name": "demo_sft.json"},
              "identity": {"file_name": "identity.json"},
              "demo_dpo": {"file_name": "demo_dpo.json", "ranking": true}
            }
            """);
        string records = string.Join(",\n", Enumerable.Range(0, 7).Select(i =>
            $"{{\"instruction\": \"Say {i}\", \"input\": \"\", \"output\": \"The number is {i}.\"}}"));
        File.WriteAllText(Path.Combine(folder, "demo_sft.json"), "[\n" + records + "\n]");
        return folder;
    }

    public void Dispose()
    {
        try
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on a slow machine: the temp folder is cleaned by the OS.
        }
    }
}
