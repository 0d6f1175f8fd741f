using LlamaBoard.Engine.Configuration;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Settings;

namespace LlamaBoard.Tests.Web.Security;

/// <summary>The board's allowed folders: where they come from, what each option key is checked against, the messages.</summary>
public sealed class BoardRootsTests : IDisposable
{
    readonly TempWorkspace workspace = new();
    readonly TempDirectory outside = new();

    public void Dispose()
    {
        workspace.Dispose();
        outside.Dispose();
    }

    [Fact]
    public void Defaults_are_models_and_data_of_the_current_directory_and_the_workspace()
    {
        var board = new BoardWorkspace(workspace.Root);
        var roots = BoardRoots.From(new BoardSettings(), board, _ => null);

        Assert.Equal([Path.GetFullPath("models"), Path.GetFullPath("data"), workspace.Root], roots.Roots);
        Assert.True(roots.Allows(Path.Combine(board.SavesDir, "demo", "lora", "train_1")));
        Assert.True(roots.Allows("models/demo"));
        Assert.True(roots.Allows("data"));
        Assert.False(roots.Allows(outside.Path));
        Assert.False(roots.Allows("models/../secret"));
    }

    [Fact]
    public void Configured_roots_replace_the_defaults_and_the_environment_replaces_both()
    {
        var board = new BoardWorkspace(workspace.Root);
        var settings = new BoardSettings();
        settings.Roots.Add(outside.Path);

        var configured = BoardRoots.From(settings, board, _ => null);
        Assert.Equal([outside.Path], configured.Roots);

        string a = Path.Combine(outside.Path, "a"), b = Path.Combine(outside.Path, "b");
        var fromEnvironment = BoardRoots.From(settings, board,
            name => name == BoardRoots.RootsVariable ? a + Path.PathSeparator + " " + b + Path.PathSeparator : null);
        Assert.Equal([a, b], fromEnvironment.Roots);
        Assert.False(fromEnvironment.Allows(outside.Path));
    }

    [Fact]
    public void A_refusal_names_the_path_and_the_allowed_folders()
    {
        var roots = new BoardRoots([workspace.Root]);

        string? refusal = roots.Refusal(outside.Path, "dataset_dir");

        Assert.NotNull(refusal);
        Assert.StartsWith($"dataset_dir '{outside.Path}' is outside the folders this board may use ({workspace.Root})", refusal, StringComparison.Ordinal);
        Assert.Contains("LlamaBoard:Roots", refusal, StringComparison.Ordinal);
        Assert.Null(roots.Refusal(Path.Combine(workspace.Root, "data"), "dataset_dir"));
        Assert.Null(roots.Refusal("  ", "dataset_dir"));
    }

    [Fact]
    public void Every_path_key_of_the_options_is_checked_and_hub_ids_are_not_paths()
    {
        var roots = new BoardRoots([workspace.Root]);
        var options = new LlamaBoardOptions();
        string bad = outside.File("x");
        options.Model.ModelNameOrPath = bad;
        options.Model.AdapterNameOrPath = [Path.Combine(workspace.Root, "ok"), bad];
        options.Data.DatasetDir = bad;
        options.Data.TokenizedPath = bad;
        options.Training.OutputDir = bad;
        options.Training.ResumeFromCheckpoint = bad;
        options.Export.ExportDir = bad;
        options.Finetuning.Preference.RefModel = bad;
        options.Finetuning.Preference.RefModelAdapters = [bad];
        options.Finetuning.Preference.RewardModel = bad;
        options.Finetuning.Preference.RewardModelAdapters = [bad];

        var messages = roots.Check(options);

        Assert.Equal(BoardRoots.PathKeys.Order(StringComparer.Ordinal), messages.Select(m => m.Key).Order(StringComparer.Ordinal));
        Assert.All(messages, m => Assert.Equal(MessageSeverity.Error, m.Severity));
        Assert.All(messages, m => Assert.StartsWith($"{m.Key}: '{bad}' is outside", m.Text, StringComparison.Ordinal));

        options.Model.ModelNameOrPath = "Qwen/Qwen2.5-0.5B-Instruct";
        options.Finetuning.Preference.RewardModelType = RewardModelType.Api;
        options.Finetuning.Preference.RewardModel = "http://127.0.0.1:8000/v1";
        var keys = roots.Check(options).Select(m => m.Key).ToList();
        Assert.DoesNotContain("model_name_or_path", keys);
        Assert.DoesNotContain("reward_model", keys);
        // The demo model's folder has a hub id's shape but is created on disk: it is a path.
        options.Model.ModelNameOrPath = "models/demo";
        Assert.Contains("model_name_or_path", roots.Check(options).Select(m => m.Key));
        // A path written like one is a path even when it has the shape of a hub id.
        options.Model.ModelNameOrPath = "../escape";
        Assert.Contains("model_name_or_path", roots.Check(options).Select(m => m.Key));
    }

    [Fact]
    public void A_link_in_the_workspace_to_a_folder_outside_is_refused()
    {
        string link = Path.Combine(workspace.Root, "models", "linked");
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        Directory.CreateSymbolicLink(link, outside.Path);
        var roots = new BoardRoots([workspace.Root]);

        Assert.False(roots.Allows(link));
        Assert.NotNull(roots.ModelRefusal(link, "model_name_or_path"));
    }
}
