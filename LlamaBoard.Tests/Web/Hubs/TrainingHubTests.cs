using System.Text.Json;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Tests.Web.Jobs;
using LlamaBoard.Web;
using LlamaBoard.Web.Hubs;
using LlamaBoard.Web.Jobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace LlamaBoard.Tests.Web.Hubs;

/// <summary>The SignalR hub: attaching mid-run returns the history so far, then every event is pushed in order.</summary>
public class TrainingHubTests
{
    [Fact]
    public async Task A_client_attaching_mid_run_gets_the_history_then_each_event()
    {
        Torch.EnsureReady();
        using var workspace = new TempWorkspace();
        var gate = new SemaphoreSlim(0);
        var runner = new FakeTrainingRunner { TotalSteps = 8, StepDelay = TimeSpan.Zero, Gate = gate, EvalEvery = 0 };
        await using var app = BoardHost.Build(["--urls", "http://127.0.0.1:0", $"--LlamaBoard:Workspace={workspace.Root}", "--LlamaBoard:AccessToken=tok"],
            services => services.AddSingleton(new TrainerRegistration(() => runner)));
        await app.StartAsync();
        try
        {
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            var queue = app.Services.GetRequiredService<JobQueue>();
            var job = await queue.EnqueueAsync(JobTestKit.Options(workspace.Root, "hub"));
            gate.Release(3);
            await JobTestKit.WaitFor(() => job.View().Timeline.Steps.Count == 3, "three steps");

            await using var connection = new HubConnectionBuilder()
                .WithUrl(address.TrimEnd('/') + TrainingHub.Path, o => o.AccessTokenProvider = () => Task.FromResult<string?>("tok"))
                .Build();
            var steps = new List<int>();
            var statuses = new List<string>();
            connection.On<JsonElement>("change", change =>
            {
                lock (steps)
                {
                    statuses.Add(change.GetProperty("status").GetString()!);
                    if (change.GetProperty("kind").GetString() == "StepCompleted")
                        steps.Add(change.GetProperty("event").GetProperty("step").GetInt32());
                }
            });
            await connection.StartAsync();
            var snapshot = await connection.InvokeAsync<JsonElement>("Attach", job.RunId);
            Assert.Equal("Running", snapshot.GetProperty("status").GetString());
            Assert.Equal([1, 2, 3], snapshot.GetProperty("timeline").GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetInt32()));

            gate.Release(100);
            await JobTestKit.WaitFor(() => { lock (steps) return statuses.Contains("Completed"); }, "the completed status");
            lock (steps) Assert.Equal([4, 5, 6, 7, 8], steps);
        }
        finally
        {
            gate.Release(1000);
            await app.StopAsync();
        }
    }
}
