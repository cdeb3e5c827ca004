import java.util.ArrayList;
import java.util.List;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * SparkPi estimates pi with a Spark job, as examples/pi.py does: the JVM application of Spark
 * standalone's cluster mode, which runs no Python driver. Build it against a Spark
 * installation's jars (examples/java/build.sh) and submit the jar with className SparkPi.
 */
public class SparkPi {
  public static void main(String[] args) {
    int slices = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int n = 100000 * slices;
    JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("SparkPi"));
    List<Integer> numbers = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      numbers.add(i);
    }
    long inside = sc.parallelize(numbers, slices).filter(i -> {
      double x = Math.random() * 2 - 1;
      double y = Math.random() * 2 - 1;
      return x * x + y * y <= 1;
    }).count();
    System.out.println("Pi is roughly " + 4.0 * inside / n);
    sc.stop();
  }
}
