package io.sparkgate.minicluster;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.nodemanager.Context;
import org.apache.hadoop.yarn.server.nodemanager.containermanager.container.ContainerState;

/**
 * A real YARN for sparkgate's integration tests: one ResourceManager and one NodeManager in this
 * JVM (Hadoop's MiniYARNCluster), on loopback ports the caller chose, with no HDFS (the
 * default file system stays file:///, so Spark's staging directory is local).
 *
 * <p>Usage: {@code SPARK_LOCAL_IP=127.0.0.1 java -cp 'minicluster.jar:lib/*'
 * io.sparkgate.minicluster.MiniYarn --conf-dir D --work-dir W --rm-port P --scheduler-port P
 * --tracker-port P --admin-port P --web-port P [--nm-memory-mb 6144] [--nm-vcores 8]}
 *
 * <p>Once the ResourceManager answers on its web port and the NodeManager has registered, it
 * writes the client configuration a spark-submit needs (HADOOP_CONF_DIR=YARN_CONF_DIR=D:
 * yarn-site.xml, core-site.xml) and last a file {@code D/ready} holding the RM's web URL. It runs
 * until its standard input reaches end of file or it gets SIGTERM, then stops the cluster.
 *
 * <p>Start the JVM with SPARK_LOCAL_IP=127.0.0.1 (and JAVA_HOME set): the NodeManager passes
 * both on to the containers, so that a cluster-mode driver binds to loopback and its executors
 * dial it there.
 */
public final class MiniYarn {
  private static final String CS = "yarn.scheduler.capacity.";

  private MiniYarn() {}

  public static void main(String[] args) {
    MiniYARNCluster cluster = null;
    try {
      Map<String, String> flags = parseFlags(args);
      File confDir = new File(required(flags, "conf-dir")).getAbsoluteFile();
      File workDir = new File(required(flags, "work-dir")).getAbsoluteFile();
      if (!confDir.isDirectory() && !confDir.mkdirs() || !workDir.isDirectory() && !workDir.mkdirs()) {
        throw new IOException("cannot create " + confDir + " or " + workDir);
      }
      if (!"127.0.0.1".equals(System.getenv("SPARK_LOCAL_IP"))) {
        System.err.println("warning: SPARK_LOCAL_IP is not 127.0.0.1: cluster-mode drivers will"
            + " bind to this host's other address");
      }
      // MiniYARNCluster puts its NodeManager's local and log directories under
      // GenericTestUtils.getTestDir(), which reads this property (default: ./target/test/data).
      System.setProperty("test.build.data", workDir.getPath());
      // Jetty unpacks the web apps into java.io.tmpdir, and only a complete stop (see stop())
      // removes them: keep them in the work directory, which the caller removes.
      File tmp = new File(workDir, "tmp");
      if (!tmp.isDirectory() && !tmp.mkdirs()) {
        throw new IOException("cannot create " + tmp);
      }
      System.setProperty("java.io.tmpdir", tmp.getPath());

      YarnConfiguration conf = configure(flags);
      // (name, NodeManagers, local dirs, log dirs); the ResourceManager comes with it
      cluster = new MiniYARNCluster("sparkgate", 1, 1, 1);
      cluster.init(conf);
      cluster.start();
      stopOnSignal(cluster);

      String rmWeb = "http://127.0.0.1:" + port(flags, "web-port");
      waitUntilReady(rmWeb, 120_000);
      writeClientConf(flags, confDir);
      // ready last, and whole (renamed into place): the caller starts submitting when it sees it
      Path readyTmp = new File(confDir, "ready.tmp").toPath();
      Files.writeString(readyTmp, rmWeb + "\n");
      Files.move(readyTmp, new File(confDir, "ready").toPath(), StandardCopyOption.ATOMIC_MOVE);
      System.out.println("MiniYarn ready: " + rmWeb + ", client conf in " + confDir);
    } catch (Throwable e) {
      // A failed start leaves non-daemon threads (RPC servers, dispatchers) that would keep the
      // JVM alive forever: report and exit, by halt, as the shutdown hook (when registered
      // already) would halt with status 0. No container runs before ready.
      System.err.println("MiniYarn failed to start: " + e);
      e.printStackTrace();
      System.err.flush();
      Runtime.getRuntime().halt(1);
    }

    // Run until the caller closes our standard input (it exited, or asks us to stop).
    try (InputStream in = System.in) {
      byte[] buf = new byte[256];
      while (in.read(buf) >= 0) {
        // discard
      }
    } catch (IOException e) {
      System.err.println("MiniYarn: stdin: " + e);
    }
    System.out.println("MiniYarn: stdin closed, stopping");
    stop(cluster); // halts the JVM
  }

  /** The cluster's configuration: fixed loopback ports, one roomy node, a permissive queue. */
  static YarnConfiguration configure(Map<String, String> flags) {
    YarnConfiguration conf = new YarnConfiguration();
    // With ephemeral ports the RM hands out tracking URLs such as http://localhost:0/proxy/…;
    // with fixed ports MiniYARNCluster keeps the addresses set here. (Its NodeManager always
    // takes ephemeral ports, which it reports correctly.)
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_FIXED_PORTS, true);
    clientConf(flags).forEach(conf::set);

    // One node: an application of the tests (AM 512m + one 512m executor, each rounded up to
    // 1 GB with Spark's 384 MB overhead) takes 2 GB, so 6 GB runs three at once. vcores do not
    // limit anything under the default (memory-only) resource calculator.
    int memoryMb = Integer.parseInt(flags.getOrDefault("nm-memory-mb", "6144"));
    // MiniYARNCluster overwrites yarn.nodemanager.resource.memory-mb with this one
    conf.setInt("yarn.minicluster.yarn.nodemanager.resource.memory-mb", memoryMb);
    conf.setInt(YarnConfiguration.NM_PMEM_MB, memoryMb);
    conf.setInt(YarnConfiguration.NM_VCORES, Integer.parseInt(flags.getOrDefault("nm-vcores", "8")));
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 256);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, memoryMb);
    conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
    conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
    // a nearly full disk would otherwise mark the only node unhealthy
    conf.setFloat(YarnConfiguration.NM_MAX_PER_DISK_UTILIZATION_PERCENTAGE, 100.0f);

    // Containers get only whitelisted variables of the NodeManager's environment: add
    // SPARK_LOCAL_IP (setting it through admin-env instead doubles it for executors).
    conf.set(YarnConfiguration.NM_ENV_WHITELIST,
        YarnConfiguration.DEFAULT_NM_ENV_WHITELIST + ",SPARK_LOCAL_IP");

    // No log aggregation: the NodeManager serves container logs (amContainerLogs, the driver's
    // stdout/stderr in cluster mode) from its own log directory, also after the application
    // ended, until these delays pass; longer than any test run.
    conf.setBoolean(YarnConfiguration.LOG_AGGREGATION_ENABLED, false);
    conf.setLong(YarnConfiguration.NM_LOG_RETAIN_SECONDS, 86_400);
    conf.setInt(YarnConfiguration.DEBUG_NM_DELETE_DELAY_SEC, 86_400);

    // The shaded minicluster has no capacity-scheduler.xml; the CapacityScheduler reads its
    // settings from this configuration instead. One queue takes the whole node.
    conf.set(CS + "root.queues", "default");
    conf.set(CS + "root.default.capacity", "100");
    conf.set(CS + "root.default.maximum-capacity", "100");
    conf.set(CS + "root.default.state", "RUNNING");
    conf.set(CS + "root.default.acl_submit_applications", "*");
    conf.set(CS + "root.default.acl_administer_queue", "*");
    conf.set(CS + "node-locality-delay", "-1");
    // The 0.1 default admits one AM on a small node; the tests run several applications at once.
    // (Past three at once, AMs could take the whole node and leave their executors waiting.)
    conf.set(CS + "maximum-am-resource-percent", "1.0");
    return conf;
  }

  /**
   * Waits until the RM's REST API answers and counts one active NodeManager: before that a
   * submission can sit ACCEPTED, or fail to connect.
   */
  static void waitUntilReady(String rmWeb, long timeoutMs) throws Exception {
    Pattern active = Pattern.compile("\"activeNodes\"\\s*:\\s*(\\d+)");
    long deadline = System.currentTimeMillis() + timeoutMs;
    String last = "no answer";
    while (System.currentTimeMillis() < deadline) {
      try {
        HttpURLConnection c = (HttpURLConnection) URI.create(rmWeb + "/ws/v1/cluster/metrics").toURL()
            .openConnection();
        c.setRequestProperty("Accept", "application/json");
        c.setConnectTimeout(2000);
        c.setReadTimeout(5000);
        int code = c.getResponseCode();
        String body = code == 200 ? new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8) : "";
        c.disconnect();
        Matcher m = active.matcher(body);
        if (m.find() && Integer.parseInt(m.group(1)) >= 1) {
          return;
        }
        last = "HTTP " + code + " " + body;
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(200);
    }
    throw new IOException("no active NodeManager at " + rmWeb + " after " + timeoutMs + " ms: " + last);
  }

  /**
   * What a YARN client (spark-submit, and the AM it ships its configuration to) needs in
   * yarn-site.xml: the RM's addresses, as 127.0.0.1 (once started, the RM rewrites its own
   * configuration to localhost:port). Only these, so that a client of another Hadoop version
   * (Spark 3.5's 3.3.4) keeps its own defaults for everything else.
   */
  static Map<String, String> clientConf(Map<String, String> flags) {
    Map<String, String> c = new LinkedHashMap<>();
    c.put(YarnConfiguration.RM_HOSTNAME, "127.0.0.1");
    c.put(YarnConfiguration.RM_ADDRESS, "127.0.0.1:" + port(flags, "rm-port"));
    c.put(YarnConfiguration.RM_SCHEDULER_ADDRESS, "127.0.0.1:" + port(flags, "scheduler-port"));
    c.put(YarnConfiguration.RM_RESOURCE_TRACKER_ADDRESS, "127.0.0.1:" + port(flags, "tracker-port"));
    c.put(YarnConfiguration.RM_ADMIN_ADDRESS, "127.0.0.1:" + port(flags, "admin-port"));
    c.put(YarnConfiguration.RM_WEBAPP_ADDRESS, "127.0.0.1:" + port(flags, "web-port"));
    c.put(YarnConfiguration.TIMELINE_SERVICE_ENABLED, "false");
    return c;
  }

  /** Writes the client configuration: yarn-site.xml, and core-site.xml for a local file system. */
  static void writeClientConf(Map<String, String> flags, File confDir) throws IOException {
    Configuration yarn = new Configuration(false);
    clientConf(flags).forEach(yarn::set);
    Configuration core = new Configuration(false);
    core.set("fs.defaultFS", "file:///");
    write(yarn, new File(confDir, "yarn-site.xml"));
    write(core, new File(confDir, "core-site.xml"));
  }

  private static void write(Configuration conf, File f) throws IOException {
    try (OutputStream out = new FileOutputStream(f)) {
      conf.writeXml(out);
    }
  }

  /** SIGTERM (and any other JVM exit) stops the cluster first. */
  private static void stopOnSignal(MiniYARNCluster cluster) {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(cluster), "MiniYarn-stop"));
  }

  private static final Object STOP_LOCK = new Object();
  private static boolean stopped;

  /** Container states in which its processes are gone. */
  private static final EnumSet<ContainerState> NO_PROCESS = EnumSet.of(ContainerState.LOCALIZATION_FAILED,
      ContainerState.EXITED_WITH_SUCCESS, ContainerState.EXITED_WITH_FAILURE,
      ContainerState.CONTAINER_CLEANEDUP_AFTER_KILL, ContainerState.CONTAINER_RESOURCES_CLEANINGUP,
      ContainerState.DONE);

  /**
   * Stops the cluster as far as matters, then halts the JVM. A whole MiniYARNCluster.stop() takes
   * 17-24 s once applications ran: the NodeManager waits about 7 s for the applications it keeps
   * for their logs, its log handler 10 s for the log deletions it scheduled, the RM 5 s for AMs
   * that never unregistered. Only the first step matters: the NodeManager kills the containers,
   * which run in sessions of their own (setsid) and would outlive this JVM. So the stop runs in
   * the background and the JVM halts as soon as no container has a process (at once when none
   * runs), or after 25 s (the Go fixture SIGKILLs at 30).
   */
  private static void stop(MiniYARNCluster cluster) {
    synchronized (STOP_LOCK) {
      if (stopped || cluster == null) {
        return;
      }
      stopped = true;
    }
    long start = System.nanoTime();
    Thread stopper = new Thread(() -> {
      try {
        cluster.stop();
      } catch (Throwable e) {
        System.err.println("MiniYarn: stop: " + e);
      }
    }, "MiniYarn-cluster-stop");
    stopper.setDaemon(true);
    stopper.start();
    Context nm = cluster.getNodeManager(0).getNMContext();
    long deadline = start + 25_000_000_000L;
    while (stopper.isAlive() && System.nanoTime() < deadline) {
      if (nm.getContainers().values().stream().allMatch(c -> NO_PROCESS.contains(c.getContainerState()))) {
        break;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        break;
      }
    }
    System.out.printf("MiniYarn stopped in %d ms (%d containers, none running)%n",
        (System.nanoTime() - start) / 1_000_000, nm.getContainers().size());
    System.out.flush();
    Runtime.getRuntime().halt(0);
  }

  private static Map<String, String> parseFlags(String[] args) {
    Map<String, String> flags = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("usage: --name value …; bad at " + args[i]);
      }
      flags.put(args[i].substring(2), args[++i]);
    }
    return flags;
  }

  private static String required(Map<String, String> flags, String name) {
    String v = flags.get(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return v;
  }

  private static int port(Map<String, String> flags, String name) {
    int p = Integer.parseInt(required(flags, name));
    if (p <= 0 || p > 65535) {
      throw new IllegalArgumentException("--" + name + " must be a port, not " + p);
    }
    return p;
  }
}
